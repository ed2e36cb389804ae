"""spaCy's tokenization of one whitespace-free chunk, replayed in Python with spaCy's own rules and regexes.

spaCy's tokenizer (``spacy/tokenizer.pyx``, v3) handles a chunk in three steps: the whole chunk may be a tokenizer
exception ("special case"); otherwise prefixes and suffixes are peeled off (``_split_affixes``), stopping at an
exception or a ``token_match``, and the core is split at infixes (``_attach_tokens``); finally its special-case
matcher re-tokenizes exception token sequences. Steps 1 and 2 are pure functions of the chunk and of the regexes
and rules, which this class takes from the spaCy pipeline itself, and are replayed here without creating spaCy
lexemes (what makes spaCy slow on new strings). Step 3 is left to spaCy: a chunk whose tokens contain the token
sequence of any exception is tokenized by spaCy itself. The pattern list and the exception rules come from the
tokenizer object, so a changed spaCy version changes them too; ``tests/test_word_split.py`` compares this
tokenization with spaCy's on every distinct chunk of the project's real pages.

Two regex calls dominate, and both get an exact shortcut (:class:`_AffixSearch`) when spaCy's regexes have the
shape checked for: the suffix regex is ``|``-joined pieces each ending in ``$``, so a piece of bounded width ``w``
can only match in the last ``w`` characters and is searched there only (lookbehinds still see the whole string);
an infix match starts with a character that some piece can start with, so a core holding none is not searched.
"""

import re


class ChunkTokenizer:
    """spaCy's tokens for one chunk without whitespace, computed without spaCy for all but matcher cases.

    Args:
        nlp: the spaCy pipeline whose tokenizer is replayed (datatrove's ``spacy.blank("en")``)
    """

    def __init__(self, nlp):
        from spacy.attrs import ORTH

        tok = nlp.tokenizer
        self.nlp = nlp
        self._prefix = tok.prefix_search
        search = _AffixSearch(nlp)
        self._suffix_length = search.suffix_length
        self._infixes = search.infixes
        self._token_match = tok.token_match
        self._url_match = tok.url_match
        self.specials = {rule: [t.get(ORTH, t.get("ORTH")) for t in tokens] for rule, tokens in tok.rules.items()}
        self.matcher_patterns = _matcher_patterns(nlp)
        self._patterns_by_first: dict[str, list[tuple[str, ...]]] = {}
        for pattern in self.matcher_patterns.values():
            self._patterns_by_first.setdefault(pattern[0], []).append(pattern)

    def __call__(self, chunk: str) -> list[str]:
        tokens = self.before_matcher(chunk)
        if self._has_pattern(tokens):
            with self.nlp.memory_zone():
                return [t.text for t in self.nlp.tokenizer(chunk)]
        return tokens

    def before_matcher(self, chunk: str) -> list[str]:
        """``Tokenizer._tokenize_affixes`` for one chunk (with special cases), before the special-case matcher."""
        special = self.specials.get(chunk)
        if special is not None:
            return list(special)
        core, prefixes, suffixes = self._split_affixes(chunk)
        return prefixes + self._core_tokens(core) + suffixes[::-1]

    def _split_affixes(self, string: str) -> tuple[str, list[str], list[str]]:
        specials = self.specials
        prefixes: list[str] = []
        suffixes: list[str] = []
        last_size = -1
        while string and len(string) != last_size:
            if (self._token_match and self._token_match(string)) or string in specials:
                break
            last_size = len(string)
            pre_len = self._match_length(self._prefix(string))
            if pre_len:
                prefix, minus_pre = string[:pre_len], string[pre_len:]
                if minus_pre and minus_pre in specials:
                    prefixes.append(prefix)
                    return minus_pre, prefixes, suffixes
            suf_len = self._suffix_length(string[pre_len:])
            if suf_len:
                suffix, minus_suf = string[-suf_len:], string[:-suf_len]
                if minus_suf and minus_suf in specials:
                    suffixes.append(suffix)
                    return minus_suf, prefixes, suffixes
            if pre_len and suf_len and pre_len + suf_len <= len(string):
                string = string[pre_len:-suf_len]
                prefixes.append(prefix)
                suffixes.append(suffix)
            elif pre_len:
                string = minus_pre
                prefixes.append(prefix)
            elif suf_len:
                string = minus_suf
                suffixes.append(suffix)
        return string, prefixes, suffixes

    def _core_tokens(self, string: str) -> list[str]:
        if not string:
            return []
        special = self.specials.get(string)
        if special is not None:
            return list(special)
        if (self._token_match and self._token_match(string)) or (self._url_match and self._url_match(string)):
            return [string]
        tokens = []
        start = 0
        for match in self._infixes(string):
            infix_start, infix_end = match.start(), match.end()
            if infix_start == 0:  # spaCy skips an infix at the very start of the core
                continue
            if infix_start != start:
                tokens.append(string[start:infix_start])
            if infix_start != infix_end:
                tokens.append(string[infix_start:infix_end])
            start = infix_end
        if string[start:]:
            tokens.append(string[start:])
        return tokens

    @staticmethod
    def _match_length(match) -> int:
        return match.end() - match.start() if match is not None else 0

    def _has_pattern(self, tokens: list[str]) -> bool:
        by_first = self._patterns_by_first
        for i, token in enumerate(tokens):
            for pattern in by_first.get(token, ()):
                if tuple(tokens[i : i + len(pattern)]) == pattern:
                    return True
        return False


def _matcher_patterns(nlp) -> dict[str, tuple[str, ...]]:
    """``{exception: tokens}`` of the exceptions spaCy's special-case matcher looks for: the rule of
    ``Tokenizer.add_special_case``, each with its affix-only tokenization (the token sequence matched)."""
    from spacy.tokenizer import Tokenizer

    tok = nlp.tokenizer
    bare = Tokenizer(
        nlp.vocab,
        rules={},
        prefix_search=tok.prefix_search,
        suffix_search=tok.suffix_search,
        infix_finditer=tok.infix_finditer,
        token_match=tok.token_match,
        url_match=tok.url_match,
    )
    patterns = {}
    with nlp.memory_zone():
        for rule in tok.rules:
            if not tok.faster_heuristics or any(
                (tok.find_prefix(rule), tok.find_infix(rule), tok.find_suffix(rule), " " in rule)
            ):
                patterns[rule] = tuple(t.text for t in bare(rule))
    return patterns


class _AffixSearch:
    """``Tokenizer.find_suffix`` and ``infix_finditer`` of a spaCy pipeline, with the shortcuts of the module
    docstring where its regexes are the ones its language defaults compile to; plain regex calls otherwise."""

    def __init__(self, nlp):
        from spacy.util import compile_infix_regex, compile_suffix_regex

        tok, defaults = nlp.tokenizer, nlp.Defaults
        self._suffix = tok.suffix_search
        self._infix = tok.infix_finditer
        self._windowed: list[tuple[re.Pattern, int | None]] | None = None
        self._infix_starts: frozenset[str] | None = None
        suffixes, infixes = list(defaults.suffixes or ()), list(defaults.infixes or ())
        if suffixes and compile_suffix_regex(suffixes).pattern == tok.suffix_search.__self__.pattern:
            self._windowed = _suffix_groups(suffixes)
        if infixes and compile_infix_regex(infixes).pattern == tok.infix_finditer.__self__.pattern:
            self._infix_starts = _first_characters(tok.infix_finditer.__self__)

    def suffix_length(self, string: str) -> int:
        if self._windowed is None:
            match = self._suffix(string)
            return match.end() - match.start() if match is not None else 0
        length = 0
        for regex, width in self._windowed:
            match = regex.search(string, 0 if width is None else max(0, len(string) - width))
            if match is not None:
                length = max(length, match.end() - match.start())
        return length

    def infixes(self, string: str):
        if self._infix_starts is not None and self._infix_starts.isdisjoint(string):
            return ()
        return self._infix(string)


def _regex_internals():
    """The parser ``re`` itself uses, and its opcode constants (``re._parser`` from Python 3.11, before that
    ``sre_parse``)."""
    try:
        from re import _constants, _parser
    except ImportError:  # Python 3.10
        import sre_constants as _constants
        import sre_parse as _parser
    return _parser, _constants


def _suffix_groups(pieces: list[str]) -> list[tuple[re.Pattern, int | None]] | None:
    """The suffix pieces as two regexes: those of bounded width (searched in the last ``width`` characters) and
    the rest (searched everywhere)."""
    _parser, _ = _regex_internals()
    bounded, unbounded, width = [], [], 0
    for piece in pieces:
        low, high = _parser.parse(piece + "$").getwidth()
        if high >= _parser.MAXREPEAT:
            unbounded.append(piece)
        else:
            bounded.append(piece)
            width = max(width, high)
    groups = [(re.compile("|".join(p + "$" for p in bounded)), width)] if bounded else []
    if unbounded:
        groups.append((re.compile("|".join(p + "$" for p in unbounded)), None))
    return groups


def _first_characters(regex: re.Pattern) -> frozenset[str] | None:
    """Every character a match of ``regex`` can start with; None when that cannot be read off its parse tree."""
    _parser, c = _regex_internals()
    if regex.flags & re.IGNORECASE:
        return None
    tree = _parser.parse(regex.pattern, regex.flags)
    if tree.getwidth()[0] == 0:  # an empty match starts with no character
        return None
    return _sequence_first(list(tree), c)


def _sequence_first(items: list, c) -> frozenset[str] | None:
    for op, value in items:
        if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
            continue  # zero-width
        if op is c.LITERAL:
            return frozenset(chr(value))
        if op is c.IN:
            return _charset(value, c)
        if op is c.SUBPATTERN:
            return _sequence_first(list(value[-1]), c)
        if op is c.BRANCH:
            sets = [_sequence_first(list(alt), c) for alt in value[1]]
            return None if any(s is None for s in sets) else frozenset().union(*sets)
        if op in (c.MAX_REPEAT, c.MIN_REPEAT) and value[0] >= 1:
            return _sequence_first(list(value[2]), c)
        return None  # anything else (ANY, optional repeats, groups refs...): give up
    return None


def _charset(items: list, c) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, value in items:
        if op is c.LITERAL:
            chars.add(chr(value))
        elif op is c.RANGE:
            chars.update(map(chr, range(value[0], value[1] + 1)))
        else:  # NEGATE, CATEGORY, ...
            return None
    return frozenset(chars)
