"""trafilatura with datatrove's settings, byte-identical output, faster: its discard XPaths evaluated in Python.

About half of ``trafilatura.extract``'s time (favour_precision, no comments, deduplicate) goes to
``htmlprocessing.prune_unwanted_nodes``: libxml2 evaluating the large discard expressions (``OVERALL_DISCARD_XPATH``
and friends, ~100 ``contains(@class, ...)`` tests per ``div``) on the whole page, twice. Those expressions only test
an element's tag and attributes. This layer reads each expression's own text (``XPath.path``), compiles it into a
Python test (the tag filter done by lxml's ``iterdescendants``, the string tests of one attribute merged into one
regex) that returns the same elements in the same document order, and, for the duration of an extraction, puts
these tests in trafilatura's discard lists in place of the XPath objects. trafilatura's own code still does
everything else, removals and tail handling included, in the same order.

The layer is active only on the trafilatura versions it was verified against (:data:`VERIFIED_TRAFILATURA`: every
real page of the project gives byte-identical text, ``tests/test_fast_trafilatura.py``); on any other version, or
if an expression does not parse, ``FastTrafilatura`` is plain ``Trafilatura``.

One deliberate difference: libxml2 stops building a tree at 256 levels of nesting, so trafilatura returns nothing
for text nested deeper. When an extraction comes out empty and the page nests deeper than that, ``FastTrafilatura``
extracts again from the page parsed without that limit (lxml's ``huge_tree``); every other page is untouched.
"""

import re
from contextlib import contextmanager

from datatrove.pipeline.extractors import Trafilatura
from datatrove.utils.logging import logger
from lxml import etree
from lxml.html import HtmlElement, HTMLParser, fromstring

VERIFIED_TRAFILATURA = ("1.11.0",)
# the lists trafilatura passes to prune_unwanted_nodes (trafilatura.xpaths; shared by reference by its modules)
DISCARD_LISTS = (
    "OVERALL_DISCARD_XPATH",
    "PAYWALL_DISCARD_XPATH",
    "TEASER_DISCARD_XPATH",
    "PRECISION_DISCARD_XPATH",
    "DISCARD_IMAGE_ELEMENTS",
    "REMOVE_COMMENTS_XPATH",
    "COMMENTS_DISCARD_XPATH",
)

_TOKEN = re.compile(
    r"""\s*(?:(?P<desc>\.//)|(?P<literal>"[^"]*"|'[^']*')|(?P<attr>@[\w-]+)|(?P<self>self::[\w-]+)"""
    r"""|(?P<punct>[\[\]()|,=*])|(?P<name>[\w-]+))"""
)


class UnsupportedXPath(ValueError):
    """The expression uses XPath beyond the subset the discard lists use."""


class _Parser:
    """Recursive descent over the subset: ``.//T[P]...|...`` where P is an ``or`` of ``self::t``, ``@a``,
    ``@a="s"``, ``contains(X, "s")`` and ``starts-with(X, "s")`` with X ``@a`` or ``translate(@a, "s", "s")``."""

    def __init__(self, path: str):
        self.tokens: list[tuple[str, str]] = []
        position = 0
        path = path.strip()
        while position < len(path):
            match = _TOKEN.match(path, position)
            if match is None or match.end() == position:
                raise UnsupportedXPath(f"cannot read {path[position : position + 30]!r}")
            self.tokens.append((match.lastgroup, match.group(match.lastgroup)))
            position = match.end()
        self.i = 0

    def _next(self, kind: str | None = None, value: str | None = None) -> str:
        if self.i >= len(self.tokens):
            raise UnsupportedXPath("unexpected end")
        token_kind, token = self.tokens[self.i]
        if (kind and token_kind != kind) or (value and token != value):
            raise UnsupportedXPath(f"unexpected {token!r}")
        self.i += 1
        return token

    def _peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def path(self) -> list[tuple[str | None, list[list[tuple]]]]:
        steps = [self._step()]
        while self._peek() == "|":
            self._next()
            steps.append(self._step())
        if self.i != len(self.tokens):
            raise UnsupportedXPath(f"trailing {self._peek()!r}")
        return steps

    def _step(self) -> tuple[str | None, list[list[tuple]]]:
        self._next("desc")
        test = self._next()
        if test != "*" and not re.fullmatch(r"[\w-]+", test):
            raise UnsupportedXPath(f"node test {test!r}")
        predicates = []
        while self._peek() == "[":
            self._next()
            predicates.append(self._disjunction())
            self._next("punct", "]")
        return (None if test == "*" else test), predicates

    def _disjunction(self) -> list[tuple]:
        atoms = self._term()
        while self._peek() == "or":
            self._next()
            atoms += self._term()
        return atoms

    def _term(self) -> list[tuple]:
        kind, token = self.tokens[self.i] if self.i < len(self.tokens) else (None, None)
        if token == "(":
            self._next()
            atoms = self._disjunction()
            self._next("punct", ")")
            return atoms
        if kind == "self":
            self._next()
            return [("self", token.removeprefix("self::"))]
        if kind == "attr":
            self._next()
            if self._peek() == "=":
                self._next()
                return [("equals", token[1:], None, _literal(self._next("literal")))]
            return [("exists", token[1:], None, None)]
        if token in ("contains", "starts-with"):
            self._next()
            self._next("punct", "(")
            attr, table = self._string_argument()
            self._next("punct", ",")
            literal = _literal(self._next("literal"))
            self._next("punct", ")")
            return [(token, attr, table, literal)]
        raise UnsupportedXPath(f"unexpected {token!r}")

    def _string_argument(self) -> tuple[str, tuple[str, str] | None]:
        if self._peek() == "translate":
            self._next()
            self._next("punct", "(")
            attr = self._next("attr")[1:]
            self._next("punct", ",")
            source = _literal(self._next("literal"))
            self._next("punct", ",")
            target = _literal(self._next("literal"))
            self._next("punct", ")")
            return attr, (source, target)
        return self._next("attr")[1:], None


def _literal(token: str) -> str:
    return token[1:-1]


def _raw_pattern(literal: str, translation: tuple[str, str] | None) -> str | None:
    """A regex matching, in an attribute's raw value, exactly the substrings that ``translate`` turns into
    ``literal``; None when no substring can (a literal character that the translation maps away)."""
    if translation is None:
        return re.escape(literal)
    source, target = translation
    table: dict[str, str | None] = {}
    for i, char in enumerate(source):  # XPath: the first occurrence of a character in ``source`` decides
        table.setdefault(char, target[i] if i < len(target) else None)
    if None in table.values():
        raise UnsupportedXPath("translate() that deletes characters")
    pattern = []
    for char in literal:
        sources = [c for c, mapped in table.items() if mapped == char] + ([] if char in table else [char])
        if not sources:
            return None
        pattern.append(re.escape(sources[0]) if len(sources) == 1 else "[" + "".join(map(re.escape, sources)) + "]")
    return "".join(pattern)


class _AttributeTest:
    """Whether one attribute's value passes any of a predicate's tests on it, memoised per value (class and id
    values repeat within and across pages)."""

    def __init__(self, attr: str, tests: list[tuple]):
        self.attr = attr
        self.exists = any(kind == "exists" for kind, _, _ in tests)
        self.equals = {literal for kind, _, literal in tests if kind == "equals"}
        contains = [_raw_pattern(lit, tr) for kind, tr, lit in tests if kind == "contains"]
        starts = [_raw_pattern(lit, tr) for kind, tr, lit in tests if kind == "starts-with"]
        contains, starts = [p for p in contains if p is not None], [p for p in starts if p is not None]
        self._contains = re.compile("|".join(contains)).search if contains else None
        self._starts = re.compile("|".join(starts)).match if starts else None
        # a missing attribute is "" to contains()/starts-with(): only an empty literal matches it
        self.if_missing = any(kind in ("contains", "starts-with") and lit == "" for kind, _, lit in tests)
        self.memo: dict[str, bool] = {}

    def __call__(self, value: str) -> bool:
        result = self.memo.get(value)  # lxml's smart strings hash and compare as plain strings
        if result is None:
            value = str(value)  # a plain copy as key: a smart string keeps its element (and tree) alive
            result = (
                self.exists
                or value in self.equals
                or (self._contains is not None and self._contains(value) is not None)
                or (self._starts is not None and self._starts(value) is not None)
            )
            if len(self.memo) > 100_000:
                self.memo.clear()
            self.memo[value] = result
        return result


class _Step:
    """One ``.//T[...]`` step: its tag tests as a plain name-step selector, and at most one predicate of string
    tests on attributes (no tag test inside it)."""

    def __init__(self, tag: str | None, predicates: list[list[tuple]]):
        from lxml import etree

        tags = None if tag is None else {tag}
        self.tests: dict[str, _AttributeTest] = {}
        for atoms in predicates:
            if all(atom[0] == "self" for atom in atoms):
                names = {atom[1] for atom in atoms}
                tags = names if tags is None else tags & names
            elif self.tests or any(atom[0] == "self" for atom in atoms):
                raise UnsupportedXPath("two string predicates, or a tag test among string tests")
            else:
                by_attr: dict[str, list[tuple]] = {}
                for kind, attr, translation, literal in atoms:
                    by_attr.setdefault(attr, []).append((kind, translation, literal))
                self.tests = {attr: _AttributeTest(attr, tests) for attr, tests in by_attr.items()}
        if any(t.if_missing for t in self.tests.values()):
            raise UnsupportedXPath("a test that an absent attribute passes")
        if tags is not None and not tags:
            raise UnsupportedXPath("contradictory tag tests")
        # the cheapest libxml2 expressions (measured): a union of plain name steps, then all their attributes;
        # from all elements, a union of one attribute each (a node-set is in document order)
        selector = "|".join(f".//{t}" for t in sorted(tags or ()))
        if not self.tests:
            selector = selector or ".//*"
        elif tags is None:
            selector = "|".join(f".//*/@{attr}" for attr in sorted(self.tests))
        else:
            selector = f"({selector})/@*"
        self.select = etree.XPath(selector)

    def __call__(self, tree) -> list:
        if not self.tests:
            return self.select(tree)
        matches = []
        tests = self.tests
        # the attributes of the right elements, in document order, as lxml "smart" strings (value, name, parent)
        for value in self.select(tree):
            test = tests.get(value.attrname)
            if test is not None and test(value):
                element = value.getparent()
                if not matches or matches[-1] is not element:  # an element's attributes are consecutive
                    matches.append(element)
        return matches


class CompiledXPath:
    """A discard expression of trafilatura as a Python callable: ``CompiledXPath(xpath)(tree)`` is
    ``xpath(tree)``, the same elements in the same (document) order.

    libxml2 lists the attribute values of the elements with the right tags (a cheap expression: plain name
    steps); the string tests run in Python on those values (memoised per distinct value), and the elements of
    the values that pass are the result. A union of steps is left to libxml2.

    Args:
        xpath: an ``lxml.etree.XPath`` of trafilatura's discard lists (its ``.path`` is compiled)
    """

    def __init__(self, xpath):
        self.xpath = xpath
        steps = _Parser(xpath.path).path()
        self._step = _Step(*steps[0]) if len(steps) == 1 else None

    def __call__(self, tree) -> list:
        return self.xpath(tree) if self._step is None else self._step(tree)


def _compiled_lists() -> dict[str, list[CompiledXPath]] | None:
    """The discard lists compiled, or None when this trafilatura is not one the layer was verified against."""
    import trafilatura
    from trafilatura import xpaths

    if trafilatura.__version__ not in VERIFIED_TRAFILATURA:
        return None
    try:
        return {name: [CompiledXPath(x) for x in getattr(xpaths, name)] for name in DISCARD_LISTS}
    except (AttributeError, UnsupportedXPath) as error:
        logger.warning(f"trafilatura's discard XPaths changed ({error}); extracting with plain trafilatura")
        return None


@contextmanager
def compiled_discard_xpaths(lists: dict[str, list]):
    """Within the block, trafilatura's discard lists hold ``lists`` (edited in place: its modules share them)."""
    from trafilatura import xpaths

    originals = {name: list(getattr(xpaths, name)) for name in lists}
    try:
        for name, compiled in lists.items():
            getattr(xpaths, name)[:] = compiled
        yield
    finally:
        for name, original in originals.items():
            getattr(xpaths, name)[:] = original


LIBXML2_DEPTH_LIMIT = 256
# trafilatura's own parser settings (trafilatura.utils.HTML_PARSER), without libxml2's depth limit
_UNLIMITED_PARSER = HTMLParser(
    collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True
)


def deeply_nested_tree(html: str) -> HtmlElement | None:
    """The page parsed without libxml2's depth limit, if it nests deeper than that limit; else None."""
    try:
        tree = fromstring(html.encode("utf8", "surrogatepass"), parser=_UNLIMITED_PARSER)
    except (etree.ParserError, ValueError):
        return None
    depth = 0
    for event, _ in etree.iterwalk(tree, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth >= LIBXML2_DEPTH_LIMIT:
            return tree
    return None


class FastTrafilatura(Trafilatura):
    """datatrove's ``Trafilatura`` extractor (FineWeb: favour_precision, no comments, deduplicate, 1 s timeout) with
    byte-identical output, its discard XPaths evaluated by :class:`CompiledXPath` (see the module docstring).

    Args:
        favour_precision: prefer less text but correct extraction (FineWeb: on)
        include_images: not implemented (as in datatrove)
        timeout: seconds allowed per document (datatrove's sandbox kills a stuck extraction)
        deduplicate: trafilatura's deduplicate option (FineWeb: on)
        kwargs: any other option, passed to ``trafilatura.extract``
    """

    name = "⛏ Trafilatura (compiled XPaths)"

    def __init__(
        self,
        favour_precision: bool = True,
        include_images: bool = False,
        timeout: float = 1,
        deduplicate: bool = True,
        **kwargs,
    ):
        super().__init__(favour_precision, include_images, timeout, deduplicate, **kwargs)
        self._lists: dict[str, list[CompiledXPath]] | None | bool = False  # False: not compiled yet

    @property
    def active(self) -> bool:
        """Whether extraction uses the compiled XPaths (False on an unverified trafilatura)."""
        if self._lists is False:
            self._lists = _compiled_lists()
            if self._lists is None:
                import trafilatura

                logger.warning(
                    f"trafilatura {trafilatura.__version__} is not one FastTrafilatura was verified against "
                    f"({', '.join(VERIFIED_TRAFILATURA)}): extracting with plain trafilatura"
                )
        return self._lists is not None

    def extract(self, text: str) -> str:
        extracted = self._extract(text)
        if not extracted and text:
            deep = deeply_nested_tree(text)
            if deep is not None:
                return self._extract(deep)
        return extracted

    def _extract(self, page: str | HtmlElement) -> str:
        if not self.active:
            return super().extract(page)
        with compiled_discard_xpaths(self._lists):
            return super().extract(page)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_lists"] = False  # compiled again where the step runs
        return state
