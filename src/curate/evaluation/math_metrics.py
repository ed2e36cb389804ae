"""How close an extraction is to the page's truth: formulas kept as math (recall) and text (token F1). The
measures of tests/test_math_extract.py and bench/bench_math_extraction.py, kept out of the extractor itself."""

import html as html_lib
import re
import string
from collections import Counter

from curate.blocks.math_extract import MATH_ENVIRONMENT_RE
from curate.blocks.mathml import latex_symbols

_FORMULA_RE = re.compile(
    r"(?<!\\)\$\$(?P<d1>.+?)(?<!\\)\$\$|\\\[(?P<d2>.+?)\\\]|\\\((?P<i1>.+?)\\\)|(?<![\\$])\$(?P<i2>[^$]+?)(?<!\\)\$",
    re.S,
)
_SPACING_COMMANDS_RE = re.compile(
    r"\\(?:left|right|big{1,2}[lr]?|Big{1,2}[lr]?|displaystyle|textstyle|[,;:! ]|quad|qquad)(?![a-zA-Z])"
)


def find_formulas(markdown: str) -> list[str]:
    """The formulas of a Markdown text: bodies of ``$$…$$``, ``\\[…\\]``, ``\\(…\\)`` and ``$…$`` (not ``\\$``)."""
    return [next(g for g in m.groups() if g is not None) for m in _FORMULA_RE.finditer(markdown)]


def normalize_formula(tex: str) -> str:
    """Canonical form of a formula for comparison.

    Unicode symbols become their LaTeX commands (``±`` → ``\\pm``); sizing/spacing commands (``\\left``,
    ``\\right``, ``\\,``, ``\\quad``, ``\\displaystyle``) and ``\\mathrm``/``\\text`` wrappers are dropped; braces,
    whitespace and trailing ``.``/``,`` are removed. Two formulas that render the same modulo spacing, grouping and
    upright-text choice compare equal; different symbols or structure do not.
    """
    tex = html_lib.unescape(tex)
    tex = latex_symbols(tex)
    tex = _SPACING_COMMANDS_RE.sub("", tex)
    tex = re.sub(r"\\(?:mathrm|text|textrm|operatorname|mathit)(?![a-zA-Z])", "", tex)
    tex = re.sub(r"[\s{}]+", "", tex)
    return tex.rstrip(".,;")


def formula_recall(truth: str, output: str) -> float | None:
    """Share of the ground-truth formulas that occur, delimited as math, in the output (multiset match on
    :func:`normalize_formula`); ``None`` when the truth has no formula.

    A formula only counts when the output marks it as math: TeX source left undelimited, or rendered glyphs,
    are not usable as math in a training corpus.
    """
    wanted = Counter(f for f in map(normalize_formula, find_formulas(truth)) if f)
    if not wanted:
        return None
    found = Counter(map(normalize_formula, find_formulas(output)))
    return sum(min(n, found[f]) for f, n in wanted.items()) / sum(wanted.values())


_PUNCT_TABLE = str.maketrans({c: " " for c in string.punctuation})


def text_tokens(text: str) -> list[str]:
    """Lowercased word tokens of ``text`` with the math (delimited formulas and bare ``\\begin{equation}``-like
    environments) removed: formulas are scored by :func:`formula_recall`."""
    text = MATH_ENVIRONMENT_RE.sub(" ", _FORMULA_RE.sub(" ", text))
    return text.lower().translate(_PUNCT_TABLE).split()


def text_f1(truth: str, output: str) -> float:
    """Bag-of-tokens F1 between the ground truth and the output, math excluded on both sides."""
    truth_bag, output_bag = Counter(text_tokens(truth)), Counter(text_tokens(output or ""))
    common = sum((truth_bag & output_bag).values())
    if not common:
        return 0.0
    precision, recall = common / sum(output_bag.values()), common / sum(truth_bag.values())
    return 2 * precision * recall / (precision + recall)
