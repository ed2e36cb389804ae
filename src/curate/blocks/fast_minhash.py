"""datatrove's MinHash signature step (stage 1 of its MinHash dedup) with identical signatures, computed faster.

Same files and sort order as ``MinhashDedupSignature``; only the per-document signature is computed differently:

- words of the simplified text come from the cached English splitter (:mod:`curate.blocks.word_split`);
  ``simplify_text``'s steps run in its order with its patterns, punctuation replaced by one regex instead of a
  translation table and combining marks deleted by one ``str.translate`` instead of a Python loop;
- n-grams are byte slices of the space-joined words, hashed straight into a numpy buffer;
- the permutations ``(h * a + b) mod (2**61 - 1)`` reduce modulo the Mersenne prime with shifts and masks instead of
  an integer division (datatrove's ``h * a + b`` wraps modulo 2**64 first, and so does this).
"""

import hashlib
import re
import sys
import unicodedata
from functools import cache

import numpy as np
from datatrove.pipeline.dedup import MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import _mersenne_prime
from datatrove.utils.text import (
    MONTHS_PATTERN,
    NUMBERS_PATTERN,
    PUNCTUATION,
    WEEKDAYS_PATTERN,
    WHITESPACE_PATTERN,
    TextNormConfig,
)
from datatrove.utils.typeshelper import Languages

from curate.blocks.word_split import shared_splitter

_ROWS_PER_BLOCK = 256  # shingles per block of the permutation matrix (keeps it in cache)


# datatrove's punctuation, each character replaced by a space as its translation table does (a regex is faster)
_PUNCTUATION = re.compile("[" + "".join(map(re.escape, PUNCTUATION)) + "]")


@cache
def _combining_marks() -> dict[int, None]:
    """The characters of Unicode category Mn (what simplify_text drops after NFD), mapped to None for translate."""
    return dict.fromkeys(c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Mn")


def fast_simplify_text(text: str, config: TextNormConfig) -> str:
    """``datatrove.utils.text.simplify_text(text, config)``: the same steps in the same order, two done faster."""
    if config.lowercase:
        text = text.lower()
    if config.norm_numbers:
        text = NUMBERS_PATTERN.sub("0", text)
    if config.norm_weekdays:
        text = WEEKDAYS_PATTERN.sub("WEEKDAY", text)
    if config.norm_monthnames:
        text = MONTHS_PATTERN.sub("MONTH", text)
    if config.remove_punctuation:
        text = _PUNCTUATION.sub(" ", text)
    if config.norm_whitespace:
        text = WHITESPACE_PATTERN.sub(" ", text.strip())
    if config.norm_unicode_diacritics and not text.isascii():  # ASCII: NFD changes nothing, no combining marks
        text = unicodedata.normalize("NFD", text).translate(_combining_marks())
    return text.strip()


class FastMinhashDedupSignature(MinhashDedupSignature):
    """datatrove's ``MinhashDedupSignature`` (FineWeb: 5-grams, sha1, 64 bits, 14 buckets x 8 hashes; FineMath: one
    bucket of 10), identical signature files, faster per document."""

    def get_shingles(self, text: str) -> np.ndarray:
        if self.language != Languages.english:
            return super().get_shingles(text)
        words = shared_splitter().words(fast_simplify_text(text, self.config.norm_config))
        n = self.config.n_grams
        if len(words) < n:
            return np.zeros((0, 1), dtype=np.uint64)
        joined = " ".join(words)
        if self.config.hash_config.hash_fc != "sha1":
            starts = np.cumsum([0] + [len(w) + 1 for w in words]).tolist()  # +1: the space after each word
            grams = [joined[s : e - 1] for s, e in zip(starts, starts[n:], strict=False)]
            return np.fromiter(map(self._hash_func, grams), dtype=np.uint64, count=len(grams)).reshape(-1, 1)
        return self._sha1_shingles(joined.encode("utf-8"), words, n)

    def _sha1_shingles(self, joined: bytes, words: list[str], n: int) -> np.ndarray:
        """The leading 4 or 8 bytes (little endian) of each space-joined n-gram's SHA-1, as datatrove's sha1_hash."""
        lengths = [len(w) for w in words] if joined.isascii() else [len(w.encode("utf-8")) for w in words]
        starts = np.cumsum([0] + [length + 1 for length in lengths]).tolist()  # byte offset of each word
        view, sha1 = memoryview(joined), hashlib.sha1
        digests = b"".join([sha1(view[s : e - 1]).digest() for s, e in zip(starts, starts[n:], strict=False)])
        width = self.config.hash_config.precision // 8
        rows = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 20)[:, :width]
        return np.ascontiguousarray(rows).view("<u4" if width == 4 else "<u8").astype(np.uint64).reshape(-1, 1)

    def get_signature(self, shingles: np.ndarray) -> list[list[int]]:
        a, b = self.parameters
        prime = _mersenne_prime
        mask = np.uint64(self.config.hash_config.max) if self.config.hash_config.precision == 32 else None
        minimum = np.full(a.shape[1], np.iinfo(np.uint64).max, dtype=np.uint64)
        for start in range(0, len(shingles), _ROWS_PER_BLOCK):
            block = shingles[start : start + _ROWS_PER_BLOCK] * a  # wraps modulo 2**64, as datatrove's product
            block += b
            low = block & prime
            block >>= np.uint64(61)
            low += block  # x mod (2**61 - 1) == (x & (2**61 - 1)) + (x >> 61), at most once too large
            np.minimum(low, low - prime, out=low)  # the subtraction wraps (is larger) when low < prime
            if mask is not None:
                low &= mask  # datatrove masks before taking the minimum
            np.minimum(minimum, low.min(axis=0), out=minimum)
        signature = minimum.astype(self.config.hash_config.np_dtype)
        return [x.tolist() for x in np.split(signature, self.config.num_buckets)]
