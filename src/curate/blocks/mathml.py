"""MathML to LaTeX: a compact conversion of the common MathML elements (the FineMath extractor's fallback when a
``<math>`` element carries no TeX annotation), and the Unicode math symbols as LaTeX commands."""

import re
from collections.abc import Callable

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


def latex_symbols(text: str) -> str:
    return _UNICODE_RE.sub(_symbol_command, text)


_ELEMENT, _TEXT = NodeType.ELEMENT, NodeType.TEXT


def local_tag(node) -> str:
    return (node.tag or "").lower().rsplit(":", 1)[-1]


def element_children(node) -> list:
    return [c for c in node.child_nodes if c.type == _ELEMENT]


def _brace(tex: str) -> str:
    return "{" + tex + "}"


def mathml_to_latex(math_node) -> str:
    """Convert a parsed MathML ``<math>`` element (a Resiliparse node) to LaTeX; common elements only.

    Unknown elements contribute the conversion of their children, so broken or exotic MathML degrades to its
    text rather than failing.
    """
    return re.sub(r"\s+", " ", _convert(math_node)).strip()


def _convert(node) -> str:
    if node.type == _TEXT:
        return latex_symbols(node.text.strip())
    if node.type != _ELEMENT:
        return ""
    tag = local_tag(node)
    if tag in _INVISIBLE:
        return ""
    kids = element_children(node)
    parts = [_convert(c) for c in kids]
    element = _ELEMENTS.get(tag)
    converted = element(node, kids, parts) if element else None
    if converted is not None:
        return converted
    return "".join(parts) if kids else latex_symbols(node.text.strip())


# Each element converter returns None where the element does not have the shape it expects (the children's
# conversion is used then).
_INVISIBLE = {"annotation", "annotation-xml", "mphantom", "none", "mprescripts", "malignmark", "maligngroup"}
_VARIANTS = {"bold": r"\mathbf", "double-struck": r"\mathbb", "fraktur": r"\mathfrak", "script": r"\mathcal"}


def _token(node, kids, parts) -> str:
    tag, raw = local_tag(node), node.text.strip()
    if tag == "mo" and raw in _FENCE_ESCAPES:
        return _FENCE_ESCAPES[raw]
    if tag == "mi" and raw in _FUNCTION_NAMES:
        return "\\" + raw + " "
    text = latex_symbols(raw)
    if tag == "mi" and len(raw) > 1 and raw.isalpha():
        return r"\mathrm" + _brace(text)
    variant = node.getattr("mathvariant") or ""
    return _VARIANTS[variant] + _brace(text) if variant in _VARIANTS else text


def _text(node, kids, parts) -> str:
    text = node.text.strip()
    return r"\text" + _brace(text) if text else " "


def _fraction(node, kids, parts) -> str | None:
    if len(parts) != 2:
        return None
    command = r"\binom" if (node.getattr("linethickness") or "").strip() in ("0", "0px", "0em") else r"\frac"
    return command + _brace(parts[0]) + _brace(parts[1])


def _scripts(*marks: str) -> Callable:
    """``msup``/``msub``/``msubsup``: the base, then each script after its mark."""

    def convert(node, kids, parts) -> str | None:
        if len(parts) != len(marks) + 1:
            return None
        return _brace(parts[0]) + "".join(mark + _brace(part) for mark, part in zip(marks, parts[1:], strict=True))

    return convert


def _under_over(node, kids, parts) -> str | None:
    """``mover``/``munder``/``munderover``: accents, limits of large operators, else over/underset."""
    tag = local_tag(node)
    if len(parts) < 2:
        return None
    base_raw = kids[0].text.strip()
    large = base_raw in _LARGE_OPERATORS
    if tag == "munderover" and len(parts) == 3:
        if large:
            return parts[0] + "_" + _brace(parts[1]) + "^" + _brace(parts[2])
        return r"\overset" + _brace(parts[2]) + _brace(r"\underset" + _brace(parts[1]) + _brace(parts[0]))
    script_raw = kids[1].text.strip()
    over = tag == "mover"
    accents = _ACCENTS_OVER if over else _ACCENTS_UNDER
    if script_raw in accents:
        return accents[script_raw] + _brace(parts[0])
    if large:
        return parts[0] + ("^" if over else "_") + _brace(parts[1])
    return (r"\overset" if over else r"\underset") + _brace(parts[1]) + _brace(parts[0])


def _fenced(node, kids, parts) -> str:
    opening = node.getattr("open") if node.hasattr("open") else "("
    closing = node.getattr("close") if node.hasattr("close") else ")"
    separators = (node.getattr("separators") if node.hasattr("separators") else ",").replace(" ", "")
    body = ""
    for i, part in enumerate(parts):
        if i and separators:
            body += separators[min(i - 1, len(separators) - 1)]
        body += part
    return (
        r"\left" + (_FENCE_ESCAPES.get(opening, opening) or ".") + body
        + r"\right" + (_FENCE_ESCAPES.get(closing, closing) or ".")
    )  # fmt: skip


def _table(node, kids, parts) -> str:
    rows = []
    columns = 1
    for row in kids:
        cells = [_convert(cell) for cell in element_children(row)] if local_tag(row) != "mtd" else []
        if local_tag(row) == "mlabeledtr":
            cells = cells[1:]  # the first cell is the equation label
        columns = max(columns, len(cells))
        rows.append(" & ".join(cells))
    aligns = [{"left": "l", "right": "r"}.get(a, "c") for a in (node.getattr("columnalign") or "").split()]
    spec = "".join(aligns[min(i, len(aligns) - 1)] if aligns else "c" for i in range(columns))
    return r"\begin{array}{" + spec + "}" + r" \\ ".join(rows) + r"\end{array}"


def _multiscripts(node, kids, parts) -> str | None:
    if not parts:
        return None
    return _brace(parts[0]) + "".join(
        ("_" + _brace(parts[i]) if parts[i] else "") + ("^" + _brace(parts[i + 1]) if i + 1 < len(parts) else "")
        for i in range(1, len(parts) - 1, 2)
    )


def _enclose(node, kids, parts) -> str | None:
    return r"\sqrt" + _brace("".join(parts)) if "radical" in (node.getattr("notation") or "") else None


_ELEMENTS = {
    "semantics": lambda node, kids, parts: parts[0] if parts else "",
    **dict.fromkeys(("mi", "mn", "mo", "ms"), _token),
    "mtext": _text,
    "mspace": lambda node, kids, parts: " ",
    "mfrac": _fraction,
    "msqrt": lambda node, kids, parts: r"\sqrt" + _brace("".join(parts)),
    "mroot": lambda node, kids, parts: r"\sqrt[" + parts[1] + "]" + _brace(parts[0]) if len(parts) == 2 else None,
    "msup": _scripts("^"),
    "msub": _scripts("_"),
    "msubsup": _scripts("_", "^"),
    **dict.fromkeys(("mover", "munder", "munderover"), _under_over),
    "mfenced": _fenced,
    "mtable": _table,
    "mmultiscripts": _multiscripts,
    "menclose": _enclose,
}
