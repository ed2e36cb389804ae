//! Ownership and borrowing, the core idea of Rust, in four small steps.
//!
//! Every value in Rust has exactly one owner. When the owner goes out of
//! scope, the value is freed. Instead of copying or sharing freely, code
//! either *moves* a value to a new owner or *borrows* it for a while.

/// Borrows the string immutably (&String): it can read but not change it,
/// and the caller keeps ownership.
fn length(s: &String) -> usize {
    s.len()
}

/// Borrows mutably (&mut String): it may change the string in place.
fn shout(s: &mut String) {
    s.push('!');
}

/// Takes ownership (String): the caller's variable can no longer be used.
fn consume(s: String) -> usize {
    s.len()
} // `s` is dropped (freed) here

fn main() {
    // Step 1: a move. After `let b = a;`, `b` owns the text and `a` is invalid.
    let a = String::from("hello");
    let b = a;
    // println!("{a}"); // would not compile: value moved to `b`
    println!("b = {b}");

    // Step 2: an immutable borrow. `b` is still usable afterwards.
    println!("length = {}", length(&b));

    // Step 3: a mutable borrow. Only one mutable borrow may exist at a time,
    // which is how Rust rules out data races at compile time.
    let mut greeting = b;
    shout(&mut greeting);
    println!("greeting = {greeting}");

    // Step 4: moving into a function. We clone first to keep our own copy.
    let n = consume(greeting.clone());
    println!("consumed {n} bytes, still have {greeting}");
}
