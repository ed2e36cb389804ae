"""Gopher's word n-gram repetition measures over numpy arrays, equal to datatrove's Python loops.

``top_duplicate_chars`` is datatrove's ``find_top_duplicate(get_n_grams(words, n))``: n-grams are joined with
spaces, and no word holds a space, so equal n-gram strings are equal word sequences: they are counted as integer
classes. ``repeated_chars`` is ``find_all_duplicate(words, n)``: n-grams are joined *without* separator, so
different word sequences can spell the same string; a polynomial hash of the characters finds the positions whose
string may occur twice (equal strings hash equally) and datatrove's greedy scan runs over those positions only,
comparing the real strings.
"""

import numpy as np

_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd, so invertible modulo 2**64
_BASE_INV = np.uint64(pow(int(_BASE), -1, 2**64))
_powers = np.ones(1, dtype=np.uint64)
_inverse_powers = np.ones(1, dtype=np.uint64)


def _power_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE**i and BASE**-i modulo 2**64 for i < size (numpy's uint64 arithmetic wraps modulo 2**64)."""
    global _powers, _inverse_powers
    if len(_powers) < size:
        size = max(size, 2 * len(_powers))
        _powers = np.cumprod(np.concatenate([[np.uint64(1)], np.full(size - 1, _BASE)]))
        _inverse_powers = np.cumprod(np.concatenate([[np.uint64(1)], np.full(size - 1, _BASE_INV)]))
    return _powers, _inverse_powers


class WordNgrams:
    """The n-grams of one document's words (token ids of an :class:`~curate.blocks.word_split.EnglishWordSplitter`).

    Args:
        ids: the words as token ids
        tokens: token strings by id
        lengths: token lengths by id
    """

    def __init__(self, ids: list[int], tokens: list[str], lengths: np.ndarray):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.words = [tokens[i] for i in ids]
        self.offsets = np.concatenate([[0], np.cumsum(lengths[self.ids])])  # of each word in "".join(words)
        self._classes: dict[int, np.ndarray] = {}
        self._hashes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def top_duplicate_chars(self, n: int) -> int:
        """Characters of the most frequent n-gram (space-joined; first seen wins a tie) times its count."""
        classes = self._ngram_classes(n)
        _, first, counts = np.unique(classes, return_index=True, return_counts=True)
        top = counts.max()
        start = int(first[counts == top].min())
        length = int(self.offsets[start + n] - self.offsets[start]) + n - 1
        return length * int(top)

    def repeated_chars(self, n: int) -> int:
        """Characters in repeated n-grams (joined without spaces), counting non-overlapping repeats left to right."""
        starts = len(self.ids) - n + 1
        if starts <= 0:
            return 0
        _, inverse, counts = np.unique(self._gram_hashes(n), return_inverse=True, return_counts=True)
        candidates = np.flatnonzero(counts[inverse] > 1)
        if not len(candidates):
            return 0
        text = "".join(self.words)
        offsets = self.offsets.tolist()
        seen: set[str] = set()
        repeated, free_from = 0, 0
        for k in candidates.tolist():
            if k < free_from:
                continue
            gram = text[offsets[k] : offsets[k + n]]
            if gram in seen:
                repeated += len(gram)
                free_from = k + n
            else:
                seen.add(gram)
        return repeated

    def _ngram_classes(self, n: int) -> np.ndarray:
        """An integer per n-gram start; equal integers exactly when the n word sequences are equal."""
        if 1 not in self._classes:
            self._classes[1] = np.unique(self.ids, return_inverse=True)[1].astype(np.int64)
        unigrams = self._classes[1]
        width = int(unigrams.max()) + 1 if len(unigrams) else 1
        level = max(k for k in self._classes if k <= n)
        classes = self._classes[level]
        while level < n:
            level += 1
            pairs = classes[:-1] * width + unigrams[level - 1 :]  # < len(words) * width: no overflow
            classes = np.unique(pairs, return_inverse=True)[1].astype(np.int64)
            self._classes[level] = classes
        return classes

    def _gram_hashes(self, n: int) -> np.ndarray:
        """Polynomial hash (mod 2**64) of each n-gram's characters, normalised to its start."""
        if self._hashes is None:
            text = "".join(self.words)
            codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
            powers, _ = _power_tables(len(codes) + 1)
            self._hashes = np.concatenate([[np.uint64(0)], np.cumsum(codes * powers[: len(codes)])])
        _, inverse_powers = _power_tables(len(self._hashes))
        begin = self.offsets[: len(self.ids) - n + 1]
        end = self.offsets[n:]
        return (self._hashes[end] - self._hashes[begin]) * inverse_powers[begin]
