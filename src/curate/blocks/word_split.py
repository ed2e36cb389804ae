"""datatrove's English word and sentence splitting (spaCy blank "en" + sentencizer), same output, cached per chunk.

datatrove tokenizes every document from scratch inside a spaCy memory zone, so spaCy's own per-chunk cache and
lexemes are thrown away after each call: that is most of the FineWeb filters' time. spaCy cuts a text at whitespace
and tokenizes each chunk on its own (``Tokenizer._tokenize_affixes``), so this splitter asks spaCy once per distinct
chunk and reuses the answer. Two things can make a chunk's tokens depend on its neighbours:

- spaCy's special-case matcher looks for the token sequences of its tokenizer exceptions over the whole text, and
  an occurrence may straddle chunks (``: 1`` spells the emoticon ``:1``). Such an occurrence changes nothing itself
  (its text, with the space, is no exception) but it can overrule an overlapping occurrence inside a chunk. So
  wherever the tokens on both sides of a chunk boundary could be consecutive tokens of an exception, the chunks
  joined that way are tokenized together by spaCy, from the original text. "Could be": a chunk's edge token
  before the matcher ran is its final edge token, or, where the chunk ends (starts) with an exception whose
  special-case tokens end (start) with that token, the exception's affix-only edge token.
- datatrove retries a text whose tokenization raised after deleting ``IS_ALPHA`` from it: texts containing that
  string always go to datatrove.

Sentences follow spaCy's sentencizer: a new sentence starts at the first token after a sentence-final character
(``punct_chars``) that is neither punctuation nor such a character; whitespace runs other than one space are tokens.
"""

import re
from itertools import chain

import numpy as np
from datatrove.utils.text import PUNCTUATION_SET, split_into_sentences, split_into_words
from datatrove.utils.typeshelper import Languages

from curate.blocks.spacy_chunks import ChunkTokenizer

PLAIN, SENTENCE_END, OTHER_PUNCT = 0, 1, 2  # token kinds for the sentencizer
_RUNS = re.compile(r"(\S+)|(\s+)")  # \s is str.isspace, the test spaCy cuts chunks with
_CHUNK = re.compile(r"\S+")


class EnglishWordSplitter:
    """``split_into_words`` / ``split_into_sentences`` of datatrove for English, identical output, cached per chunk.

    Args:
        max_chunks: distinct chunks remembered; the cache starts over when it grows past this
    """

    def __init__(self, max_chunks: int = 300_000):
        self.max_chunks = max_chunks
        self._nlp = None
        self.reset()

    def words(self, text: str) -> list[str]:
        """``datatrove.utils.text.split_into_words(text, "en")``."""
        return [self.tokens[i] for i in self.token_ids(text)]

    def token_ids(self, text: str) -> list[int]:
        """The words of ``text`` as ids into :attr:`tokens` (valid until the next call that may learn chunks)."""
        if self._memo is not None and self._memo[0] == text:
            return self._memo[1]
        found = self._chunks_of(text)
        if found is None:
            ids = [self._token_id(w) for w in split_into_words(text, Languages.english)]
        elif found[1]:
            ids = self._ids_with_joined_chunks(text, *found)
        else:
            chunks = found[0]
            ids = list(chain.from_iterable(map(self._chunk_ids.__getitem__, chunks)))
        self._memo = (text, ids)
        return ids

    def sentence_count(self, text: str) -> int:
        """``len(split_into_sentences(text, "en"))`` (1 for an empty text, as datatrove returns ``[""]``)."""
        found = self._chunks_of(text)
        if found is None or found[1]:
            return len(split_into_sentences(text, Languages.english))
        kinds, chunk_ids = self._kinds, self._chunk_ids
        seen_end, starts = False, 1
        for word, space in _RUNS.findall(text):
            if word:
                for token in chunk_ids[word]:
                    kind = kinds[token]
                    if kind == SENTENCE_END:
                        seen_end = True
                    elif kind == PLAIN and seen_end:
                        starts, seen_end = starts + 1, False
            # whitespace is a (plain) token, except one space right after a chunk, which spaCy attaches to it
            elif seen_end and space != " ":
                starts, seen_end = starts + 1, False
        return starts

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-token (length, has a non-punctuation character, has a letter), indexed by token id."""
        n = len(self.tokens)
        return self._lengths[:n], self._non_symbol[:n], self._alpha[:n]

    # ---- chunks -------------------------------------------------------------------------------------------------

    def _chunks_of(self, text: str) -> tuple[list[str], list[int]] | None:
        """The whitespace-delimited chunks of ``text`` (all in the cache) and the boundaries where chunks must be
        tokenized together; None when the text must go to datatrove."""
        if "IS_ALPHA" in text:
            return None
        if len(self._chunk_ids) > self.max_chunks:
            self.reset()
        chunks = text.split()
        distinct = set(chunks)
        missing = distinct.difference(self._chunk_ids)
        if missing:
            self._learn(missing)
        return chunks, self._joined_boundaries(chunks, distinct)

    def _joined_boundaries(self, chunks: list[str], distinct: set[str]) -> list[int]:
        """Indices i where chunks i-1 and i must be tokenized together (see the module docstring)."""
        starts, ends = self._start_keys, self._end_keys
        present_starts = starts.keys() & distinct
        present_ends = ends.keys() & distinct if present_starts else ()
        if not present_ends:
            return []
        wanted = frozenset().union(*(starts[c] for c in present_starts))
        if all(ends[c].isdisjoint(wanted) for c in present_ends):
            return []
        none: frozenset[str] = frozenset()
        return [
            i
            for i in range(1, len(chunks))
            if chunks[i] in present_starts and not ends.get(chunks[i - 1], none).isdisjoint(starts[chunks[i]])
        ]

    def _ids_with_joined_chunks(self, text: str, chunks: list[str], joined: list[int]) -> list[int]:
        """The words when some chunks must be tokenized together: each run of joined chunks goes to spaCy."""
        per_chunk = list(map(self._chunk_ids.__getitem__, chunks))
        spans = [m.span() for m in _CHUNK.finditer(text)]
        runs: list[list[int]] = []  # [first chunk, last chunk] of each run of joined chunks
        for i in joined:
            if runs and runs[-1][1] == i - 1:
                runs[-1][1] = i
            else:
                runs.append([i - 1, i])
        for first, last in reversed(runs):
            tokens = self._spacy_tokens(text[spans[first][0] : spans[last][1]])
            per_chunk[first : last + 1] = [tuple(map(self._token_id, tokens))]
        return list(chain.from_iterable(per_chunk))

    def _learn(self, chunks: set[str]) -> None:
        self._spacy()
        tokenize = self._chunk_tokenizer
        for chunk in chunks:
            tokens = tokenize(chunk)
            self._chunk_ids[chunk] = tuple(map(self._token_id, tokens))
            # the tokens that may precede this chunk's first token in an exception, and its possible last tokens
            # that may start or continue one
            preceding = frozenset().union(
                *(self._preceding.get(t, ()) for t in self._edge_tokens(chunk, tokens[0], start=True))
            )
            lasts = self._edge_tokens(chunk, tokens[-1], start=False) & self._exception_firsts
            if preceding:
                self._start_keys[chunk] = preceding
            if lasts:
                self._end_keys[chunk] = lasts

    def _edge_tokens(self, chunk: str, final: str, start: bool) -> frozenset[str]:
        """The tokens the chunk's first (last) token may have been before the special-case matcher ran."""
        edges = {final}
        for n in self._exception_lengths:
            if n > len(chunk):
                break
            edge = self._exception_edges.get(chunk[:n] if start else chunk[-n:])
            if edge is not None and edge[1 - start][0] == final:  # edge: (first, last) x (special, affix-only)
                edges.add(edge[1 - start][1])
        return frozenset(edges)

    def _spacy_tokens(self, text: str) -> list[str]:
        with self._spacy().memory_zone():
            return [t.text for t in self._nlp.tokenizer(text) if not t.text.isspace()]

    def _token_id(self, token: str) -> int:
        tid = self.token_index.get(token)
        if tid is None:
            tid = self.token_index[token] = len(self.tokens)
            self.tokens.append(token)
            if tid >= len(self._lengths):
                self._grow()
            self._lengths[tid] = len(token)
            self._non_symbol[tid] = any(ch not in PUNCTUATION_SET for ch in token)
            self._alpha[tid] = any(ch.isalpha() for ch in token)
            self._spacy()
            if token in self._punct_chars:
                self._kinds[tid] = SENTENCE_END
            elif self._is_punct(token):
                self._kinds[tid] = OTHER_PUNCT
        return tid

    def _grow(self) -> None:
        size = max(1024, 2 * len(self._lengths))
        self._lengths, self._non_symbol, self._alpha = (
            np.concatenate([a, np.zeros(size - len(a), dtype=a.dtype)])
            for a in (self._lengths, self._non_symbol, self._alpha)
        )
        self._kinds.extend([PLAIN] * (size - len(self._kinds)))

    def reset(self) -> None:
        """Forget every chunk and token (the cache also starts over by itself past ``max_chunks``)."""
        self._chunk_ids: dict[str, tuple[int, ...]] = {}
        # chunk -> the tokens that may end the previous chunk in an exception spelled across the boundary; and
        # chunk -> its possible last tokens that may begin one (only chunks where these are not empty)
        self._start_keys: dict[str, frozenset[str]] = {}
        self._end_keys: dict[str, frozenset[str]] = {}
        self.token_index: dict[str, int] = {}
        self.tokens: list[str] = []
        self._lengths = np.zeros(0, dtype=np.int64)
        self._non_symbol = np.zeros(0, dtype=bool)
        self._alpha = np.zeros(0, dtype=bool)
        self._kinds: list[int] = []
        self._memo: tuple[str, list[int]] | None = None

    # ---- spaCy --------------------------------------------------------------------------------------------------

    def _spacy(self):
        if self._nlp is None:
            from spacy.attrs import IS_PUNCT

            self._nlp = _load_spacy()
            self._punct_chars = self._nlp.get_pipe("sentencizer").punct_chars
            self._is_punct = self._nlp.vocab.lex_attr_getters[IS_PUNCT]
            self._chunk_tokenizer = ChunkTokenizer(self._nlp)
            self._exception_edges, self._exception_pairs = _exception_edges(self._chunk_tokenizer)
            self._exception_lengths = sorted({len(e) for e in self._exception_edges})
            self._exception_firsts = frozenset(first for first, _ in self._exception_pairs)
            self._preceding: dict[str, set[str]] = {}
            for first, second in self._exception_pairs:
                self._preceding.setdefault(second, set()).add(first)
        return self._nlp

    def __getstate__(self) -> dict:  # pipelines are pickled for executors: ship the settings, not the cache
        return {"max_chunks": self.max_chunks}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)


def _load_spacy():
    """The pipeline datatrove's ``SpaCyTokenizer("en")`` builds."""
    import spacy

    nlp = spacy.blank(Languages.english)
    nlp.add_pipe("sentencizer")
    return nlp


def _exception_edges(chunks: ChunkTokenizer) -> tuple[dict, set[tuple[str, str]]]:
    """For the exceptions spaCy's special-case matcher looks for: ``{exception: ((first special-case token, first
    matched token), (last special-case token, last matched token))}`` and every consecutive pair of matched tokens."""
    edges, pairs = {}, set()
    for rule, pattern in chunks.matcher_patterns.items():
        if len(pattern) > 1 and any(t.isspace() for t in pattern):
            raise RuntimeError(f"spaCy exception {rule!r} holds a whitespace token: the chunk cache is unsafe")
        special = chunks.specials[rule]
        edges[rule] = ((special[0], pattern[0]), (special[-1], pattern[-1]))
        pairs.update(zip(pattern, pattern[1:], strict=False))
    return edges, pairs


_shared: EnglishWordSplitter | None = None


def shared_splitter() -> EnglishWordSplitter:
    """One splitter per process, so consecutive filters reuse each other's chunks and the last text's words."""
    global _shared
    if _shared is None:
        _shared = EnglishWordSplitter()
    return _shared
