"""Math-preserving HTML extraction on Resiliparse (FineMath step 4).

Before main-content extraction, every math node in the DOM is replaced by a placeholder; after extraction the
placeholders become LaTeX in ``$…$`` (inline) or ``$$…$$`` (display). Handled markup:

- MathJax: ``<script type="math/tex">`` (``; mode=display`` → display), ``math/mml`` scripts, v3 ``mjx-container``
  (through its assistive MathML), and ``\\(…\\)`` / ``\\[…\\]`` / ``$$…$$`` delimiters left in text; the rendered
  copies (``.MathJax``, ``.MathJax_Preview``, ``.MathJax_Display``) are dropped;
- KaTeX: the ``annotation encoding="application/x-tex"`` of ``.katex`` (its rendered HTML is dropped);
- MathML ``<math>`` (also with a namespace prefix such as ``m:math``): the TeX annotation or ``alttext`` when there
  is one, else a compact MathML → LaTeX conversion (``curate.blocks.mathml``); Wikipedia's ``mwe-math-element``;
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
from collections import Counter
from urllib.parse import parse_qs, unquote, urlsplit

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.extractors.base import BaseExtractor, ExtractorSandbox
from datatrove.utils.logging import logger
from datatrove.utils.typeshelper import StatHints

from curate.blocks.mathml import element_children, local_tag, mathml_to_latex

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
MATH_ENVIRONMENT_RE = re.compile(
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
            s if i % 2 else MATH_ENVIRONMENT_RE.sub(environment_to_dollars, s) for i, s in enumerate(segments)
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
        """Every kind of math markup, in an order where an outer form is handled before what it contains."""
        self._rewrite_katex()
        self._rewrite_wikipedia_math()
        self._rewrite_mathjax3()
        self._rewrite_math_scripts()
        self._rewrite_mathml()
        self._rewrite_latex_images()

    def _rewrite_katex(self) -> None:
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

    def _rewrite_wikipedia_math(self) -> None:
        for node in self._select(".mwe-math-element"):
            math = node.query_selector("math")
            display = node.query_selector(".mwe-math-mathml-display, .mwe-math-fallback-image-display") is not None
            tex = self._math_node_tex(math) if math is not None else ""
            if not tex and (img := node.query_selector("img[alt]")) is not None:
                tex = img.getattr("alt") or ""
            self._math(node, tex, display, "wikipedia")

    def _rewrite_mathjax3(self) -> None:
        for node in self._select("mjx-container"):
            math = node.query_selector("math")
            display = (node.getattr("display") or "") == "true"
            if math is not None:
                tex = self._math_node_tex(math)
            elif not any(local_tag(c).startswith("mjx-") for c in element_children(node)):
                tex = node.text  # not rendered: the container still holds the TeX source
            else:
                tex = ""  # rendered glyphs only: no source left to recover
            self._math(node, tex, display, "mathjax3")

    def _rewrite_math_scripts(self) -> None:
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

    def _rewrite_mathml(self) -> None:
        for node in self._math_elements():
            if node.parent is None:
                continue
            self._math(node, self._math_node_tex(node), (node.getattr("display") or "") == "block", "mathml")

    def _rewrite_latex_images(self) -> None:
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
                    for cell in element_children(row)
                    if local_tag(cell) in ("td", "th")
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
