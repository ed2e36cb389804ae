// Tutorial: passing arguments by value, by reference and by const reference.
//
// In C++ a function parameter can receive a *copy* of the caller's variable
// or a *reference* to the variable itself. Choosing correctly matters both for
// correctness (can the function change my variable?) and for speed (copying a
// large vector is expensive).

#include <iostream>
#include <string>
#include <vector>

// 1. By value: the function works on its own copy.
//    Changing `n` here does not change the caller's variable.
void add_one_by_value(int n) {
    n = n + 1;
}

// 2. By reference (int&): `n` is another name for the caller's variable,
//    so changing it changes the original.
void add_one_by_reference(int& n) {
    n = n + 1;
}

// 3. By const reference: no copy is made (fast for big objects),
//    and `const` promises the function will not modify the argument.
std::size_t count_long_words(const std::vector<std::string>& words) {
    std::size_t count = 0;
    for (const std::string& word : words) {  // const& again: no copy per word
        if (word.size() > 5) {
            ++count;
        }
    }
    return count;
}

int main() {
    int x = 10;
    add_one_by_value(x);
    std::cout << "after by-value:     " << x << '\n';  // still 10

    add_one_by_reference(x);
    std::cout << "after by-reference: " << x << '\n';  // now 11

    std::vector<std::string> words = {"tree", "elephant", "river", "mountain"};
    std::cout << "long words: " << count_long_words(words) << '\n';  // 2
    return 0;
}
