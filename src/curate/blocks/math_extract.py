"""Math-preserving HTML extraction on Resiliparse (FineMath step 4), and the measures used to evaluate it.

Before main-content extraction, every math node in the DOM is replaced by a placeholder; after extraction the
placeholders become LaTeX in ``$…$`` (inline) or ``$$…$$`` (display). Handled markup:

- MathJax: ``<script type="math/tex">`` (``; mode=display`` → display), ``math/mml`` scripts, v3 ``mjx-container``
  (through its assistive MathML), and ``\\(…\\)`` / ``\\[…\\]`` / ``$$…$$`` delimiters left in text; the rendered
  copies (``.MathJax``, ``.MathJax_Preview``, ``.MathJax_Display``) are dropped;
- KaTeX: the ``annotation encoding="application/x-tex"`` of ``.katex`` (its rendered HTML is dropped);
- MathML ``<math>`` (also with a namespace prefix such as ``m:math``): the TeX annotation or ``alttext`` when there
  is one, else a compact MathML → LaTeX conversion (:func:`mathml_to_latex`); Wikipedia's ``mwe-math-element``;
- LaTeX images: wp-latex ``img.latex``, codecogs, mimetex and ``latex.php?latex=`` URLs (alt text, else the
  URL-decoded query);
- AsciiMath (``math/asciimath`` scripts) is kept as written, in backticks: AsciiMath → LaTeX is not trivial
  and a wrong conversion is worse than the source.

``<pre>`` becomes a fenced code block, inline ``<code>`` backticks, data tables Markdown tables. Q&A answers and
forum replies stay: Resiliparse's main-content heuristics are run with comment sections kept, and known answer
containers are protected from the boilerplate pass. ``$`` in plain text is left alone (currency stays text).
"""

import html as html_lib
import re
import string
from collections import Counter
from urllib.parse import parse_qs, unquote, urlsplit

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.extractors.base import BaseExtractor, ExtractorSandbox
from datatrove.utils.logging import logger
from datatrove.utils.typeshelper import StatHints
from resiliparse.parse.html import NodeType

# Unicode math symbols → LaTeX commands; shared by the MathML converter and the formula normaliser.
UNICODE_TO_LATEX = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "ϵ": r"\epsilon",
    "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "ϑ": r"\vartheta", "ι": r"\iota", "κ": r"\kappa",
    "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi", "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma",
    "ς": r"\varsigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\varphi", "ϕ": r"\phi", "χ": r"\chi", "ψ": r"\psi",
    "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi", "Π": r"\Pi",
    "Σ": r"\Sigma", "Υ": r"\Upsilon", "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega",
    "∑": r"\sum", "∏": r"\prod", "∐": r"\coprod", "∫": r"\int", "∬": r"\iint", "∮": r"\oint", "∞": r"\infty",
    "≤": r"\le", "⩽": r"\le", "≥": r"\ge", "⩾": r"\ge", "≠": r"\ne", "±": r"\pm", "∓": r"\mp", "×": r"\times",
    "÷": r"\div", "·": r"\cdot", "⋅": r"\cdot", "∙": r"\cdot", "∂": r"\partial", "∇": r"\nabla", "→": r"\to",
    "←": r"\leftarrow", "↦": r"\mapsto", "⇒": r"\Rightarrow", "⇐": r"\Leftarrow", "⇔": r"\Leftrightarrow",
    "↔": r"\leftrightarrow", "⟶": r"\longrightarrow", "⟹": r"\Longrightarrow", "∈": r"\in", "∉": r"\notin",
    "∋": r"\ni", "⊂": r"\subset", "⊆": r"\subseteq", "⊃": r"\supset", "⊇": r"\supseteq", "∪": r"\cup",
    "∩": r"\cap", "∀": r"\forall", "∃": r"\exists", "¬": r"\neg", "∧": r"\wedge", "∨": r"\vee",
    "≈": r"\approx", "≡": r"\equiv", "∼": r"\sim", "≃": r"\simeq", "≅": r"\cong", "∝": r"\propto",
    "…": r"\ldots", "⋯": r"\cdots", "⋮": r"\vdots", "⋱": r"\ddots", "∘": r"\circ", "⊗": r"\otimes",
    "⊕": r"\oplus", "∅": r"\emptyset", "ℝ": r"\mathbb{R}", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}",
    "ℚ": r"\mathbb{Q}", "ℂ": r"\mathbb{C}", "⟨": r"\langle", "⟩": r"\rangle", "〈": r"\langle", "〉": r"\rangle",
    "∥": r"\parallel", "⊥": r"\perp", "∠": r"\angle", "ℏ": r"\hbar", "ℓ": r"\ell", "⌊": r"\lfloor",
    "⌋": r"\rfloor", "⌈": r"\lceil", "⌉": r"\rceil", "∖": r"\setminus", "≪": r"\ll", "≫": r"\gg",
    "−": "-", "′": "'", "″": "''", "\u2061": "", "\u2062": "", "\u2063": "", "\u2064": "", "\u00a0": " ",
}  # fmt: skip
_UNICODE_RE = re.compile("|".join(map(re.escape, UNICODE_TO_LATEX)))
_LARGE_OPERATORS = {"∑", "∏", "∐", "∫", "∬", "∮", "⋃", "⋂", "lim", "max", "min", "sup", "inf", "limsup", "liminf"}
_FUNCTION_NAMES = {
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "log", "ln",
    "exp", "lim", "max", "min", "sup", "inf", "det", "dim", "ker", "deg", "gcd", "arg", "Pr", "limsup", "liminf",
}  # fmt: skip
_ACCENTS_OVER = {
    "¯": r"\overline", "‾": r"\overline", "^": r"\hat", "ˆ": r"\hat", "˙": r"\dot", "¨": r"\ddot", "→": r"\vec",
    "⃗": r"\vec", "~": r"\tilde", "˜": r"\tilde", "⏞": r"\overbrace", "︷": r"\overbrace",
}  # fmt: skip
_ACCENTS_UNDER = {"_": r"\underline", "¯": r"\underline", "⏟": r"\underbrace", "︸": r"\underbrace"}
_FENCE_ESCAPES = {"{": r"\{", "}": r"\}", "‖": r"\|", "|": "|"}


def _symbol_command(match: re.Match) -> str:
    command = UNICODE_TO_LATEX[match.group(0)]
    return command + " " if command[-1:].isalpha() else command  # "\alpha x", not "\alphax"


def _latex_symbols(text: str) -> str:
    return _UNICODE_RE.sub(_symbol_command, text)


_ELEMENT, _TEXT = NodeType.ELEMENT, NodeType.TEXT


def _local_tag(node) -> str:
    return (node.tag or "").lower().rsplit(":", 1)[-1]


def _element_children(node) -> list:
    return [c for c in node.child_nodes if c.type == _ELEMENT]


def _brace(tex: str) -> str:
    return "{" + tex + "}"


def mathml_to_latex(math_node) -> str:
    """Convert a parsed MathML ``<math>`` element (a Resiliparse node) to LaTeX; common elements only.

    Unknown elements contribute the conversion of their children, so broken or exotic MathML degrades to its
    text rather than failing.
    """
    return re.sub(r"\s+", " ", _convert_mathml(math_node)).strip()


def _convert_children(node) -> str:
    return "".join(_convert_mathml(c) for c in node.child_nodes)


def _convert_mathml(node) -> str:  # noqa: C901 - one branch per MathML element is the clearest form
    if node.type == _TEXT:
        return _latex_symbols(node.text.strip())
    if node.type != _ELEMENT:
        return ""
    tag = _local_tag(node)
    kids = _element_children(node)
    parts = [_convert_mathml(c) for c in kids]
    if tag in ("annotation", "annotation-xml", "mphantom", "none", "mprescripts", "malignmark", "maligngroup"):
        return ""
    if tag == "semantics":
        return parts[0] if parts else ""
    if tag in ("mi", "mn", "mo", "ms"):
        raw = node.text.strip()
        if tag == "mo" and raw in _FENCE_ESCAPES:
            return _FENCE_ESCAPES[raw]
        if tag == "mi" and raw in _FUNCTION_NAMES:
            return "\\" + raw + " "
        text = _latex_symbols(raw)
        if tag == "mi" and len(raw) > 1 and raw.isalpha():
            return r"\mathrm" + _brace(text)
        variant = node.getattr("mathvariant") or ""
        if variant == "bold":
            return r"\mathbf" + _brace(text)
        if variant in ("double-struck", "fraktur", "script"):
            command = {"double-struck": r"\mathbb", "fraktur": r"\mathfrak", "script": r"\mathcal"}[variant]
            return command + _brace(text)
        return text
    if tag == "mtext":
        text = node.text.strip()
        return r"\text" + _brace(text) if text else " "
    if tag == "mspace":
        return " "
    if tag == "mfrac" and len(parts) == 2:
        command = r"\binom" if (node.getattr("linethickness") or "").strip() in ("0", "0px", "0em") else r"\frac"
        return command + _brace(parts[0]) + _brace(parts[1])
    if tag == "msqrt":
        return r"\sqrt" + _brace("".join(parts))
    if tag == "mroot" and len(parts) == 2:
        return r"\sqrt[" + parts[1] + "]" + _brace(parts[0])
    if tag == "msup" and len(parts) == 2:
        return _brace(parts[0]) + "^" + _brace(parts[1])
    if tag == "msub" and len(parts) == 2:
        return _brace(parts[0]) + "_" + _brace(parts[1])
    if tag == "msubsup" and len(parts) == 3:
        return _brace(parts[0]) + "_" + _brace(parts[1]) + "^" + _brace(parts[2])
    if tag in ("mover", "munder", "munderover") and len(parts) >= 2:
        base_raw = kids[0].text.strip()
        if tag == "munderover" and len(parts) == 3:
            if base_raw in _LARGE_OPERATORS:
                return parts[0] + "_" + _brace(parts[1]) + "^" + _brace(parts[2])
            return r"\overset" + _brace(parts[2]) + _brace(r"\underset" + _brace(parts[1]) + _brace(parts[0]))
        script_raw = kids[1].text.strip()
        if tag == "mover":
            if script_raw in _ACCENTS_OVER:
                return _ACCENTS_OVER[script_raw] + _brace(parts[0])
            if base_raw in _LARGE_OPERATORS:
                return parts[0] + "^" + _brace(parts[1])
            return r"\overset" + _brace(parts[1]) + _brace(parts[0])
        if script_raw in _ACCENTS_UNDER:
            return _ACCENTS_UNDER[script_raw] + _brace(parts[0])
        if base_raw in _LARGE_OPERATORS:
            return parts[0] + "_" + _brace(parts[1])
        return r"\underset" + _brace(parts[1]) + _brace(parts[0])
    if tag == "mfenced":
        opening = node.getattr("open") if node.hasattr("open") else "("
        closing = node.getattr("close") if node.hasattr("close") else ")"
        separators = (node.getattr("separators") if node.hasattr("separators") else ",").replace(" ", "")
        body = ""
        for i, part in enumerate(parts):
            if i:
                body += separators[min(i - 1, len(separators) - 1)] if separators else ""
            body += part
        return (
            r"\left" + (_FENCE_ESCAPES.get(opening, opening) or ".") + body
            + r"\right" + (_FENCE_ESCAPES.get(closing, closing) or ".")
        )  # fmt: skip
    if tag == "mtable":
        rows = []
        columns = 1
        for row in kids:
            cells = [_convert_mathml(cell) for cell in _element_children(row)] if _local_tag(row) != "mtd" else []
            if _local_tag(row) == "mlabeledtr":
                cells = cells[1:]  # the first cell is the equation label
            columns = max(columns, len(cells))
            rows.append(" & ".join(cells))
        aligns = [{"left": "l", "right": "r"}.get(a, "c") for a in (node.getattr("columnalign") or "").split()]
        spec = "".join(aligns[min(i, len(aligns) - 1)] if aligns else "c" for i in range(columns))
        return r"\begin{array}{" + spec + "}" + r" \\ ".join(rows) + r"\end{array}"
    if tag == "mmultiscripts" and parts:
        return _brace(parts[0]) + "".join(
            ("_" + _brace(parts[i]) if parts[i] else "") + ("^" + _brace(parts[i + 1]) if i + 1 < len(parts) else "")
            for i in range(1, len(parts) - 1, 2)
        )
    if tag == "menclose" and "radical" in (node.getattr("notation") or ""):
        return r"\sqrt" + _brace("".join(parts))
    return "".join(parts) if kids else _latex_symbols(node.text.strip())


# ---------------------------------------------------------------------------------------------------------------
# evaluation measures (used by tests/test_math_extract.py and bench/bench_math_extraction.py)

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
    tex = _latex_symbols(tex)
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
    text = _MATH_ENVIRONMENT_RE.sub(" ", _FORMULA_RE.sub(" ", text))
    return text.lower().translate(_PUNCT_TABLE).split()


def text_f1(truth: str, output: str) -> float:
    """Bag-of-tokens F1 between the ground truth and the output, math excluded on both sides."""
    truth_bag, output_bag = Counter(text_tokens(truth)), Counter(text_tokens(output or ""))
    common = sum((truth_bag & output_bag).values())
    if not common:
        return 0.0
    precision, recall = common / sum(output_bag.values()), common / sum(truth_bag.values())
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------------------------------------------
# the extractor

_PLACEHOLDER_RE = re.compile("\ue000(\\d+)\ue001")
_LATEX_IMG_SRC_RE = re.compile(
    r"codecogs\.com|mimetex|mathtex|latex\.php|/latex\?|\.latex\?|chart\.apis\.google\.com.*cht=tx", re.I
)
_NAMESPACED_MATH_RE = re.compile(r"<([A-Za-z][\w-]*):math[\s>]")
# Math delimiters MathJax is commonly configured with, left in page text: (opening, closing, display?).
DEFAULT_TEXT_DELIMITERS = (
    ("\\(", "\\)", False), ("\\[", "\\]", True), ("[tex]", "[/tex]", True), ("[itex]", "[/itex]", False),
    ("[math]", "[/math]", True), ("[imath]", "[/imath]", False),
)  # fmt: skip
# LaTeX environments MathJax typesets without delimiters.
_MATH_ENVIRONMENT_RE = re.compile(
    r"\\begin\{(equation|align|alignat|gather|multline|eqnarray|displaymath|flalign)(\*?)\}.+?\\end\{\1\2\}", re.S
)
_DISPLAY_DOLLARS_RE = re.compile(r"(\$\$.+?\$\$)", re.S)
# Containers of Q&A answers and forum posts that Resiliparse's boilerplate pass may take for comments/side content.
DEFAULT_ANSWER_SELECTORS = (
    ".answer", ".answercell", ".post-text", ".s-prose", ".comment-copy", ".js-post-body",
    ".message-body", ".bbWrapper", ".postbody", ".post_body", ".postcontent", "[id^=post_message_]",
)  # fmt: skip
DEFAULT_DROP_SELECTORS = (
    "nav", "footer", "svg", "noscript", "button", "iframe", ".MathJax_Preview", ".MathJax",
    ".MathJax_Display", ".MathJax_SVG", ".MathJax_CHTML", ".MJX_Assistive_MathML", "[class*=advert]", ".ad", ".ads",
)  # fmt: skip


class MathHtmlExtractor(BaseExtractor):
    """Resiliparse main-content extraction that keeps math as LaTeX (``$…$``/``$$…$$``), code and tables.

    Args:
        timeout: seconds allowed per document (datatrove's sandbox kills a stuck extraction)
        main_content: run Resiliparse's main-content heuristics (FineMath re-extraction: on)
        keep_answers: protect Q&A answers / forum posts (``answer_selectors``) from the boilerplate pass
        answer_selectors: CSS selectors of answer/post containers kept even when judged boilerplate
        drop_selectors: CSS selectors removed before extraction (navigation, footers, ads, rendered math copies)
        tables_as_markdown: write data tables (no nested tables, short cells) as Markdown tables
        max_table_cell_chars: a table with a longer cell is a layout table and is left to Resiliparse
        max_table_rows: longer tables are left to Resiliparse (one line per row; walking huge tables is slow)
        text_delimiters: (opening, closing, display) math delimiters in page text rewritten to ``$``/``$$``
        min_text_length: documents with less extracted text are dropped (counted as ``too_short``)
    """

    name = "➗ Math HTML extractor"
    _requires_dependencies = ["resiliparse"]

    def __init__(
        self,
        timeout: float = 1,
        main_content: bool = True,
        keep_answers: bool = True,
        answer_selectors: tuple[str, ...] = DEFAULT_ANSWER_SELECTORS,
        drop_selectors: tuple[str, ...] = DEFAULT_DROP_SELECTORS,
        tables_as_markdown: bool = True,
        max_table_cell_chars: int = 300,
        max_table_rows: int = 200,
        text_delimiters: tuple[tuple[str, str, bool], ...] = DEFAULT_TEXT_DELIMITERS,
        min_text_length: int = 1,
    ):
        super().__init__(timeout)
        self.main_content = main_content
        self.keep_answers = keep_answers
        self.answer_selectors = tuple(answer_selectors)
        self.drop_selectors = tuple(drop_selectors)
        self.tables_as_markdown = tables_as_markdown
        self.max_table_cell_chars = max_table_cell_chars
        self.max_table_rows = max_table_rows
        self.text_delimiters = tuple(text_delimiters)
        self.min_text_length = min_text_length

    def extract(self, text: str) -> str:
        """HTML → Markdown-ish text with LaTeX math; ``""`` when the page has no extractable text."""
        return self.extract_with_counts(text)[0]

    def extract_with_counts(self, html: str) -> tuple[str, dict[str, int]]:
        """Like :meth:`extract`, also returning counts of what was converted or skipped (for the stats)."""
        return _PageConverter(self, html).convert()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        # BaseExtractor.run, except that the counts made in the sandbox process come back to this step's stats
        with ExtractorSandbox(timeout=self.timeout, warmup_text="") as extractor:
            for doc in data:
                self.stat_update(StatHints.total)
                with self.track_time():
                    try:
                        text, counts = extractor.process_document(doc.text, self.extract_with_counts)
                    except TimeoutError:
                        self.stat_update("timeout")
                        continue
                    except EOFError:
                        self.stat_update("broken_process")
                        continue
                    except Exception as e:
                        self.stat_update("clean_error")
                        if not self._warned_error:
                            logger.warning(f"❌ Error {e!r} while extracting math page {doc.id}; skipped (counted).")
                            self._warned_error = True
                        continue
                for label, value in counts.items():
                    self.stat_update(label, value=value)
                if len(text) < self.min_text_length:
                    self.stat_update(StatHints.dropped, "too_short")
                    continue
                doc.text = text
                doc.metadata["math_formulas"] = counts.get("formulas", 0)
                self.stat_update("extracted", StatHints.forwarded)
                self.update_doc_stats(doc)
                yield doc


class _PageConverter:
    """One page: DOM rewrite → Resiliparse extraction → placeholder substitution."""

    def __init__(self, settings: MathHtmlExtractor, html: str):
        self.settings = settings
        self.html = html
        self.replacements: list[str] = []
        self.counts: Counter = Counter()

    def convert(self) -> tuple[str, dict[str, int]]:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        if not self.html or not self.html.strip():
            self.counts["empty_html"] += 1
            return "", dict(self.counts)
        self.tree = HTMLTree.parse(self.html)
        if self.tree.body is None:
            self.counts["no_body"] += 1
            return "", dict(self.counts)
        self._rewrite_math()
        self._rewrite_code()
        if self.settings.tables_as_markdown:
            self._rewrite_tables()
        text = extract_plain_text(
            self.tree,
            preserve_formatting=True,
            main_content=self.settings.main_content,
            alt_texts=False,
            comments=True,
            # skipped, not removed from the DOM: without a <footer> Resiliparse's main-content pass can drop a page
            skip_elements=list(self.settings.drop_selectors),
        )
        if self.settings.keep_answers and self.settings.main_content:
            text = self._restore_dropped_answers(text, extract_plain_text)
        text = self._delimited_math_to_dollars(text)
        for _ in range(3):  # a table cell may hold a formula placeholder: resolve nested ones too
            text = _PLACEHOLDER_RE.sub(lambda m: self.replacements[int(m.group(1))], text)
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
        return text, dict(self.counts)

    def _delimited_math_to_dollars(self, text: str) -> str:
        """``\\(…\\)``, ``[tex]…[/tex]``, … and bare ``\\begin{equation}…`` in page text → ``$…$`` / ``$$…$$``."""
        delimiters = self.settings.text_delimiters
        if not delimiters:
            return text
        pattern = re.compile(
            "|".join(f"{re.escape(opening)}(.+?){re.escape(closing)}" for opening, closing, _ in delimiters),
            re.S | re.I,
        )

        def to_dollars(match: re.Match) -> str:
            index = next(i for i, group in enumerate(match.groups()) if group is not None)
            tex = match.group(index + 1).strip()
            if not tex:
                return match.group(0)
            self.counts["formulas"] += 1
            self.counts["math:text-delimiters"] += 1
            return "$$\n" + tex + "\n$$" if delimiters[index][2] else "$" + re.sub(r"\s+", " ", tex) + "$"

        def environment_to_dollars(match: re.Match) -> str:
            self.counts["formulas"] += 1
            self.counts["math:text-environment"] += 1
            return "$$\n" + match.group(0) + "\n$$"

        segments = _DISPLAY_DOLLARS_RE.split(pattern.sub(to_dollars, text))
        # odd segments are $$…$$ blocks already; environments inside them stay as they are
        return "".join(
            s if i % 2 else _MATH_ENVIRONMENT_RE.sub(environment_to_dollars, s) for i, s in enumerate(segments)
        )

    # -- DOM helpers ------------------------------------------------------------------------------------------
    def _select(self, selector: str) -> list:
        try:
            return list(self.tree.body.query_selector_all(selector))
        except Exception:  # an unparsable selector from the user's configuration: count, keep going
            self.counts[f"bad_selector:{selector}"] += 1
            return []

    def _placeholder(self, node, content: str, block: bool) -> None:
        """Replace ``node`` by a placeholder that becomes ``content`` after extraction."""
        index = len(self.replacements)
        self.replacements.append(content)
        token = self.tree.create_text_node(f"\ue000{index}\ue001")
        if block:
            wrapper = self.tree.create_element("p")
            wrapper.append_child(token)
            token = wrapper
        if node.parent is not None:
            node.parent.replace_child(token, node)

    def _math(self, node, tex: str, display: bool, source: str) -> None:
        tex = tex.strip()
        if not tex:
            self.counts[f"empty_math:{source}"] += 1
            if node.parent is not None:
                node.parent.remove_child(node)
            return
        self.counts["formulas"] += 1
        self.counts[f"math:{source}"] += 1
        if display:
            self._placeholder(node, "$$\n" + tex + "\n$$", block=True)
        else:
            self._placeholder(node, "$" + re.sub(r"\s+", " ", tex) + "$", block=False)

    # -- math ---------------------------------------------------------------------------------------------------
    def _rewrite_math(self) -> None:
        for node in self._select(".katex-display, .katex"):
            if node.parent is None or node.closest(".katex-display") not in (None, node):
                continue  # an inner .katex of a display block handled below
            annotation = node.query_selector('annotation[encoding="application/x-tex"]')
            display = "katex-display" in node.class_list
            if annotation is not None:
                self._math(node, annotation.text, display, "katex")
            elif (math := node.query_selector("math")) is not None:
                self._math(node, self._math_node_tex(math), display, "katex-mathml")
            else:
                self._math(node, "", display, "katex")
        for node in self._select(".mwe-math-element"):
            math = node.query_selector("math")
            display = node.query_selector(".mwe-math-mathml-display, .mwe-math-fallback-image-display") is not None
            tex = self._math_node_tex(math) if math is not None else ""
            if not tex and (img := node.query_selector("img[alt]")) is not None:
                tex = img.getattr("alt") or ""
            self._math(node, tex, display, "wikipedia")
        for node in self._select("mjx-container"):
            math = node.query_selector("math")
            display = (node.getattr("display") or "") == "true"
            if math is not None:
                tex = self._math_node_tex(math)
            elif not any(_local_tag(c).startswith("mjx-") for c in _element_children(node)):
                tex = node.text  # not rendered: the container still holds the TeX source
            else:
                tex = ""  # rendered glyphs only: no source left to recover
            self._math(node, tex, display, "mathjax3")
        for node in self._select("script[type]"):
            kind = (node.getattr("type") or "").lower().replace(" ", "")
            if kind.startswith("math/tex"):
                self._math(node, node.text, "mode=display" in kind, "mathjax-script")
            elif kind.startswith("math/asciimath"):
                self.counts["math:asciimath"] += 1
                self._placeholder(node, "`" + node.text.strip() + "`", block=False)
            elif kind.startswith("math/mml"):
                from resiliparse.parse.html import HTMLTree

                inner = HTMLTree.parse(node.text).body
                math = inner.query_selector("math") if inner is not None else None
                display = math is not None and (math.getattr("display") or "") == "block"
                self._math(node, self._math_node_tex(math) if math is not None else "", display, "mathjax-mml")
        for node in self._math_elements():
            if node.parent is None:
                continue
            self._math(node, self._math_node_tex(node), (node.getattr("display") or "") == "block", "mathml")
        for node in self._select("img"):
            tex = self._latex_image_tex(node)
            if tex is not None:
                self._math(node, tex, False, "latex-img")

    def _math_elements(self) -> list:
        found = self._select("math")
        # namespaced MathML (<m:math>, <mml:math>) is not matched by the "math" selector
        for prefix in sorted(set(_NAMESPACED_MATH_RE.findall(self.html))):
            found += self._select(prefix + r"\:math")
        return found

    def _math_node_tex(self, math) -> str:
        annotation = math.query_selector('annotation[encoding="application/x-tex"], annotation[encoding="TeX"]')
        if annotation is not None and annotation.text.strip():
            return annotation.text
        alttext = (math.getattr("alttext") or "").strip()
        if alttext:
            return alttext
        try:
            return mathml_to_latex(math)
        except Exception:  # broken MathML: keep its text rather than lose the page
            self.counts["mathml_conversion_error"] += 1
            return math.text

    def _latex_image_tex(self, img) -> str | None:
        src = img.getattr("src") or ""
        alt = (img.getattr("alt") or "").strip()
        classes = img.class_list
        is_latex = "latex" in classes or "tex" in classes or "ql-img-inline-formula" in classes
        if not is_latex and not _LATEX_IMG_SRC_RE.search(src):
            return None
        if alt and alt not in ("LaTeX", "latex", "formula", "image"):
            return _strip_tags(alt)
        parts = urlsplit(html_lib.unescape(src))
        query = parse_qs(parts.query)
        for key in ("latex", "tex", "chl", "eq"):
            if key in query:  # form-encoded (wp-latex, Google charts): "+" is a space
                return _strip_tags(query[key][0])
        # codecogs/mimetex put raw TeX after "?": "+" is a plus
        return _strip_tags(unquote(parts.query)) if parts.query else ""

    # -- code and tables ----------------------------------------------------------------------------------------
    def _rewrite_code(self) -> None:
        for node in self._select("pre"):
            if node.parent is None:
                continue
            code = _PLACEHOLDER_RE.sub(lambda m: self.replacements[int(m.group(1))], node.text).strip("\n")
            if code.strip():
                self._placeholder(node, "```\n" + code + "\n```", block=True)
        for node in self._select("code"):
            text = node.text
            if node.parent is not None and text.strip() and "\n" not in text.strip():
                self._placeholder(node, "`" + text.strip() + "`", block=False)

    def _rewrite_tables(self) -> None:
        for table in self._select("table"):
            if table.parent is None or table.query_selector("table") is not None:
                continue
            row_nodes = table.get_elements_by_tag_name("tr")
            if len(row_nodes) > self.settings.max_table_rows:
                self.counts["table_too_long"] += 1
                continue
            rows = [
                [
                    re.sub(r"\s+", " ", cell.text).strip().replace("|", r"\|")
                    for cell in _element_children(row)
                    if _local_tag(cell) in ("td", "th")
                ]
                for row in row_nodes
            ]
            rows = [row for row in rows if any(row)]
            width = max((len(row) for row in rows), default=0)
            if len(rows) < 2 or width < 2 or any(len(c) > self.settings.max_table_cell_chars for r in rows for c in r):
                continue
            rows = [row + [""] * (width - len(row)) for row in rows]
            lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
            lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
            self.counts["tables"] += 1
            self._placeholder(table, "\n".join(lines), block=True)

    # -- answers --------------------------------------------------------------------------------------------------
    def _restore_dropped_answers(self, text: str, extract_plain_text) -> str:
        """Append answer/post containers that the main-content pass dropped (most of their word 4-grams missing)."""
        main_shingles = _shingles(text.split())
        restored_nodes = []
        extra = []
        for selector in self.settings.answer_selectors:
            for node in self._select(selector):
                if any(other.contains(node) for other in restored_nodes):
                    continue
                node_text = extract_plain_text(
                    node.html, preserve_formatting=True, main_content=False, alt_texts=False
                )
                node_shingles = _shingles(node_text.split())
                if not node_shingles or len(node_shingles & main_shingles) >= 0.5 * len(node_shingles):
                    continue
                restored_nodes.append(node)
                extra.append(node_text)
                self.counts["answers_restored"] += 1
        return text + ("\n\n" + "\n\n".join(extra) if extra else "")


def _strip_tags(text: str) -> str:
    """Drop HTML tags that broken pages leave inside attribute values (e.g. ``<br />`` in a codecogs URL)."""
    return re.sub(r"<[^<>]*>", " ", text).strip()


def _shingles(words: list[str], size: int = 4) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + size]) for i in range(max(1, len(words) - size + 1))} if words else set()
