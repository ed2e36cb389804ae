"""Annotation prompt templates: loading, filling and hashing.

A prompt file is Markdown text with placeholders ``{extract}`` (and, for code, ``{language}`` and
``{language_example}``), optionally preceded by a YAML front matter block that says how to read the answer::

    ---
    score_label: "Educational score"   # the last line of an answer is "<score_label>: <points>"
    max_score: 5
    extract_chars: 1000                # the document is cut to this many characters
    ---

Files without front matter (e.g. an official prompt file passed by path) work too: the score label is
found in the text and the scale from "N-point"; both can be overridden.
"""

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from curate.assets import package_data

CLASSIFIERS_DIR = package_data("classifiers")  # the top-level classifiers/ folder, installed as curate.classifiers

# name -> prompt file under classifiers/
NAMED_PROMPTS = {
    "fineweb_edu": "fineweb_edu/prompt.md",
    "finemath": "finemath/prompt_5pt.md",
    "finemath_3pt": "finemath/prompt_3pt.md",
    "finemath_5pt": "finemath/prompt_5pt.md",
    "stack_edu": "stack_edu/prompt.md",
}
KNOWN_SCORE_LABELS = ("Educational score", "Final score")
LANGUAGE_EXAMPLES_FILE = "language_examples.yaml"
DEFAULT_EXTRACT_CHARS = 1000

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{(extract|language|language_example)\}")
_SCALE_IN_TEXT = re.compile(r"\b(\d+)-point\b")


class PromptError(ValueError):
    """A prompt file or the values to fill it with are not usable."""


@dataclass
class PromptTemplate:
    """One annotation prompt: its text, how to read the score from an answer, and how much of a document it sees."""

    text: str
    score_label: str
    max_score: int
    extract_chars: int = DEFAULT_EXTRACT_CHARS
    source: str = "<string>"
    prompt_hash: str = ""
    language_examples: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self):
        if "{extract}" not in self.text:
            raise PromptError(f"prompt {self.source} has no {{extract}} placeholder")
        if self.max_score < 1 or self.max_score > 9:
            raise PromptError(f"prompt {self.source}: max_score must be 1..9 (one digit), got {self.max_score}")

    @property
    def needs_language(self) -> bool:
        return "{language}" in self.text or "{language_example}" in self.text

    def render(self, document_text: str, language: str | None = None) -> str:
        """The user message for one document: the template with the (truncated) extract and the language filled in."""
        values = {"extract": document_text[: self.extract_chars]}
        if self.needs_language:
            if not language:
                raise PromptError(
                    f"prompt {self.source} needs a language (pass --language or a language metadata key)"
                )
            entry = self.language_examples.get(language, {})
            values["language"] = entry.get("name", language)
            if "{language_example}" in self.text:
                if "example" not in entry:
                    known = ", ".join(sorted(self.language_examples)) or "none"
                    raise PromptError(
                        f"no example for language {language!r} in {self.source}'s examples (known: {known})"
                    )
                values["language_example"] = entry["example"]
        # one pass, so placeholders inside the inserted document are left alone
        return _PLACEHOLDER.sub(lambda match: values[match.group(1)], self.text)


def prompt_hash(raw_text: str) -> str:
    """sha256 of a prompt file's full text (front matter included): which exact prompt made an annotation."""
    return hashlib.sha256(raw_text.encode("utf-8")).hexdigest()


def resolve_prompt_path(ref: str | Path) -> Path:
    """A named prompt (``fineweb_edu``, ``finemath``, ``finemath_3pt``, ``stack_edu``…) or a path to a prompt file."""
    ref_str = str(ref)
    if ref_str in NAMED_PROMPTS:
        return CLASSIFIERS_DIR / NAMED_PROMPTS[ref_str]
    path = Path(ref_str)
    if not path.is_file():
        raise PromptError(f"prompt {ref_str!r} is neither a file nor one of {', '.join(sorted(NAMED_PROMPTS))}")
    return path


def recipe_of_prompt(ref: str | Path) -> str | None:
    """The recipe a named prompt (or a prompt file under ``classifiers/<recipe>/``) is for: its folder's name."""
    path = resolve_prompt_path(ref).resolve()
    if path.parent.parent != CLASSIFIERS_DIR:
        return None
    return path.parent.name


def load_prompt(
    ref: str | Path,
    extract_chars: int | None = None,
    score_label: str | None = None,
    max_score: int | None = None,
) -> PromptTemplate:
    """Load a prompt by name or path; explicit arguments override the front matter and what is inferred."""
    path = resolve_prompt_path(ref)
    raw = path.read_text(encoding="utf-8")
    settings: dict = {}
    body = raw
    match = _FRONT_MATTER.match(raw)
    if match:
        settings = yaml.safe_load(match.group(1)) or {}
        body = raw[match.end() :]
    label = score_label or settings.get("score_label") or _infer_score_label(body, path)
    scale = max_score or settings.get("max_score") or _infer_max_score(body)
    chars = extract_chars or settings.get("extract_chars") or DEFAULT_EXTRACT_CHARS
    examples_path = path.parent / LANGUAGE_EXAMPLES_FILE
    examples = yaml.safe_load(examples_path.read_text(encoding="utf-8")) if examples_path.is_file() else {}
    return PromptTemplate(
        text=body.strip() + "\n",
        score_label=label,
        max_score=int(scale),
        extract_chars=int(chars),
        source=str(path),
        prompt_hash=prompt_hash(raw),
        language_examples=examples or {},
    )


def _infer_score_label(body: str, path: Path) -> str:
    found = [label for label in KNOWN_SCORE_LABELS if f"{label}:" in body]
    if len(found) != 1:
        raise PromptError(f"cannot tell the score label of {path}: set score_label in its front matter or pass it")
    return found[0]


def _infer_max_score(body: str) -> int:
    scales = {int(n) for n in _SCALE_IN_TEXT.findall(body)}
    return scales.pop() if len(scales) == 1 else 5
