"""Binary search, explained step by step.

Binary search finds a value in a *sorted* list by repeatedly halving the part
of the list that could still contain it. Each step throws away half of the
remaining items, so a list of one million items needs at most about 20 steps,
while checking items one by one could need a million.
"""


def binary_search(items: list[int], target: int) -> int:
    """Return the index of ``target`` in the sorted list ``items``, or -1 if it is absent."""
    # low and high mark the part of the list we have not ruled out yet.
    low = 0
    high = len(items) - 1

    while low <= high:
        # Step 1: look at the middle of the remaining part.
        middle = (low + high) // 2

        # Step 2: if it is the target, we are done.
        if items[middle] == target:
            return middle

        # Step 3: the list is sorted, so if the middle value is too small,
        # the target can only be to its right: move low past the middle.
        if items[middle] < target:
            low = middle + 1
        # Step 4: otherwise the target can only be to its left.
        else:
            high = middle - 1

    # The remaining part is empty: the target is not in the list.
    return -1


if __name__ == "__main__":
    numbers = [2, 5, 8, 12, 16, 23, 38, 56, 72, 91]
    print(binary_search(numbers, 23))  # 5
    print(binary_search(numbers, 7))  # -1, 7 is not in the list
