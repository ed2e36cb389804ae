// Optionals in Swift, explained step by step.
//
// An optional is a value that might be missing. Swift marks such values with
// a question mark (String?, Int?) and makes you handle the missing case before
// you can use them. This removes a whole class of "null" crashes.

// Step 1: Int("42") can fail (what would Int("hello") be?), so it returns Int?.
let typed = "42"
let maybeNumber: Int? = Int(typed)

// Step 2: "if let" unwraps the optional only when it holds a value.
if let number = maybeNumber {
    print("You typed \(number), doubled is \(number * 2)")
} else {
    print("That was not a number")
}

// Step 3: "guard let" unwraps at the start of a function and exits early
// otherwise, so the rest of the function can use the value directly.
func greet(_ name: String?) -> String {
    guard let name = name, !name.isEmpty else {
        return "Hello, stranger!"
    }
    return "Hello, \(name)!"
}
print(greet("Mia"))  // Hello, Mia!
print(greet(nil))    // Hello, stranger!

// Step 4: "??" (nil-coalescing) supplies a default when the value is missing.
let score = Int("not a score") ?? 0
print(score)  // 0

// Step 5: avoid force unwrapping with "!". It crashes the program when the
// value is nil, so use it only when you can prove a value is present.
