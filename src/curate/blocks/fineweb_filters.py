"""FineWeb's four heuristic filters with datatrove's decisions, drop reasons and stats, sharing one fast tokenization.

Each class is the datatrove filter of the same name (same constructor, defaults, ``name``, stats and exclusion
writer) whose ``filter`` gets its English words and sentences from one
:class:`~curate.blocks.word_split.EnglishWordSplitter` per process instead of a fresh spaCy run per filter (and per
line in C4), and computes Gopher's n-gram measures with numpy (:mod:`curate.blocks.ngram_stats`). Consecutive
filters on the same text reuse its words. Other languages, and C4's sentence mode, run datatrove's code unchanged.

Use them in place of datatrove's filters, in the same order::

    FastGopherRepetitionFilter(), FastGopherQualityFilter(), FastC4QualityFilter(filter_no_terminal_punct=False),
    FastFineWebQualityFilter()
"""

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.pipeline.filters.c4_filters import CITATION_REGEX, ELLIPSIS, END_PUNCTUATION, POLICY_SUBSTRINGS
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.typeshelper import Languages

from curate.blocks.ngram_stats import WordNgrams
from curate.blocks.word_split import shared_splitter


class FastGopherRepetitionFilter(GopherRepetitionFilter):
    """datatrove's ``GopherRepetitionFilter`` (Gopher's repetition thresholds, as FineWeb), same decisions, faster."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.language != Languages.english:
            return super().filter(doc)
        text = doc.text
        if not text:
            return False, "empty"
        reason = self._duplicate_reason(self.paragraph_exp.split(text.strip()), len(text), "para")
        reason = reason or self._duplicate_reason(self._line_splitter.split(text), len(text), "line")
        return (False, reason) if reason else self._ngram_verdict(text)

    def _duplicate_reason(self, parts: list[str], text_length: int, kind: str) -> str | None:
        """datatrove's checks on duplicated paragraphs (``kind="para"``) or lines (``"line"``)."""
        duplicates, duplicate_chars = find_duplicates(parts)
        max_frac, max_char_frac = getattr(self, f"dup_{kind}_frac"), getattr(self, f"dup_{kind}_char_frac")
        if max_frac and duplicates / len(parts) > max_frac:
            return f"dup_{kind}_frac"
        if max_char_frac and duplicate_chars / text_length > max_char_frac:
            return f"dup_{kind}_char_frac"
        return None

    def _ngram_verdict(self, text: str) -> bool | tuple[bool, str]:
        splitter = shared_splitter()
        ngrams = WordNgrams(splitter.token_ids(text), splitter.tokens, splitter.arrays()[0])
        for n, n_frac in self.top_n_grams:
            if len(ngrams) >= n and ngrams.top_duplicate_chars(n) / len(text) > n_frac:
                return False, f"top_{n}_gram"
        for n, n_frac in self.dup_n_grams:
            if ngrams.repeated_chars(n) / len(text) > n_frac:
                return False, f"duplicated_{n}_n_grams"
        return True


class FastGopherQualityFilter(GopherQualityFilter):
    """datatrove's ``GopherQualityFilter`` (Gopher's quality rules, as FineWeb), same decisions, faster."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.language != Languages.english:
            return super().filter(doc)
        text = doc.text
        splitter = shared_splitter()
        ids = splitter.token_ids(text)
        words = np.asarray(ids, dtype=np.int64)
        reason = (
            self._word_reason(words, *splitter.arrays()[:2])
            or self._symbol_reason(text, len(words))
            or self._line_reason(text.splitlines())
            or self._alpha_and_stop_word_reason(words, ids, splitter)
        )
        return (False, reason) if reason else True

    def _word_reason(self, words: np.ndarray, lengths: np.ndarray, non_symbol: np.ndarray) -> str | None:
        real_words = words[non_symbol[words]]  # words with a character outside datatrove's PUNCTUATION_SET
        n_real = len(real_words)
        if self.min_doc_words and n_real < self.min_doc_words:
            return "gopher_short_doc"
        if self.max_doc_words and n_real > self.max_doc_words:
            return "gopher_long_doc"
        # the exact mean: integer sum over integer count (np.mean of an empty list is nan)
        avg_length = int(lengths[real_words].sum()) / n_real if n_real else float("nan")
        if self.min_avg_word_length and avg_length < self.min_avg_word_length:
            return "gopher_below_avg_threshold"
        if self.max_avg_word_length and avg_length > self.max_avg_word_length:
            return "gopher_above_avg_threshold"
        return None

    def _symbol_reason(self, text: str, n_words: int) -> str | None:
        if self.max_symbol_word_ratio and text.count("#") / n_words > self.max_symbol_word_ratio:
            return "gopher_too_many_hashes"
        if self.max_symbol_word_ratio and (text.count("...") + text.count("…")) / n_words > self.max_symbol_word_ratio:
            return "gopher_too_many_ellipsis"
        return None

    def _line_reason(self, lines: list[str]) -> str | None:
        if self.max_bullet_lines_ratio:
            bullets = sum(s.lstrip().startswith(("•", "-")) for s in lines)
            if bullets / len(lines) > self.max_bullet_lines_ratio:
                return "gopher_too_many_bullets"
        if self.max_ellipsis_lines_ratio:
            ellipses = sum(s.rstrip().endswith(("...", "…")) for s in lines)
            if ellipses / len(lines) > self.max_ellipsis_lines_ratio:
                return "gopher_too_many_end_ellipsis"
        return None

    def _alpha_and_stop_word_reason(self, words: np.ndarray, ids: list[int], splitter) -> str | None:
        if self.max_non_alpha_words_ratio:
            with_letter = np.count_nonzero(splitter.arrays()[2][words])
            if with_letter / len(words) < self.max_non_alpha_words_ratio:
                return "gopher_below_alpha_threshold"
        if self.min_stop_words:
            present, index = set(ids), splitter.token_index
            if sum(index.get(w, -1) in present for w in self.stop_words) < self.min_stop_words:
                return "gopher_enough_stop_words"
        return None


class FastC4QualityFilter(C4QualityFilter):
    """datatrove's ``C4QualityFilter`` (FineWeb: ``filter_no_terminal_punct=False``), same decisions and line
    stats, faster: a kept line's sentences are counted from cached tokens instead of a spaCy run per line."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.language != Languages.english or not self.split_paragraph:
            return super().filter(doc)
        splitter = shared_splitter()
        num_sentences = 0
        kept_lines = []
        for line in doc.text.splitlines():
            self.stat_update("line-total")
            line, verdict = self._line_verdict(line.strip())
            if verdict == "kept":
                if self.min_num_sentences != -1:
                    num_sentences += splitter.sentence_count(line)
                kept_lines.append(line)
                self.stat_update("line-kept")
            elif verdict in ("lorem_ipsum", "curly_bracket"):
                return False, verdict  # the whole document goes
            else:
                self.stat_update(f"line-filter-{verdict}")
        if num_sentences < self.min_num_sentences:
            return False, "too_few_sentences"
        doc.text = "\n".join(kept_lines).strip()
        return True

    def _line_verdict(self, line: str) -> tuple[str, str]:
        """The line without citations, and "kept", a line-filter name, or a reason to drop the document."""
        words = line.split()
        if self.max_word_length != -1 and any(len(word) > self.max_word_length for word in words):
            return line, "too_long_word"
        if self.remove_citations:
            line = CITATION_REGEX.sub("", line)
        if self.filter_no_terminal_punct and (not line.endswith(END_PUNCTUATION) or line.endswith(ELLIPSIS)):
            return line, "no_terminal_punc"
        if len(words) < self.min_words_per_line:
            return line, "too_few_words"
        line_l = line.lower()
        if self.filter_lorem_ipsum and "lorem ipsum" in line_l:
            return line, "lorem_ipsum"
        if self.filter_javascript and "javascript" in line_l:
            return line, "javascript"
        if self.filter_curly_bracket and "{" in line:
            return line, "curly_bracket"
        if self.filter_policy and any(p in line_l for p in POLICY_SUBSTRINGS):
            return line, "policy"
        return line, "kept"


class FastFineWebQualityFilter(FineWebQualityFilter):
    """datatrove's ``FineWebQualityFilter`` (FineWeb's line-punctuation, short-line, duplicate and list rules),
    same decisions, faster."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.language != Languages.english:
            return super().filter(doc)
        text = doc.text
        lines = [line for line in text.split("\n") if line.strip() != ""]
        if not lines:
            return False, "empty"
        ratio = sum(1 for line in lines if line.endswith(self.stop_chars)) / len(lines)
        if ratio < self.line_punct_thr and not (ratio == 0 and self.line_punct_exclude_zero):
            return False, "line_punct_ratio"
        ratio = sum(1 for line in lines if len(line) <= self.short_line_length) / len(lines)
        if ratio > self.short_line_threshold:
            return False, "short_line_ratio"
        if find_duplicates(lines)[1] / len(text.replace("\n", "")) > self.char_duplicates_ratio:
            return False, "char_dup_ratio"
        if text.count("\n") / len(shared_splitter().token_ids(text)) > self.new_line_ratio:
            return False, "list_ratio"
        return True
