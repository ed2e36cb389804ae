"""The Stack-Edu language of a source file, from its name and, where the name is not enough, its content."""

import posixpath
import re

from curate.languages import (
    AMBIGUOUS_EXTENSIONS,
    EXTENSION_TO_LANGUAGE,
    FILENAME_TO_LANGUAGE,
    INTERPRETER_TO_LANGUAGE,
    WRAPPER_EXTENSIONS,
)

_CPP_HEADER_MARKERS = re.compile(
    r"^\s*(class|struct)\s+\w+\s*(final\s*)?:\s*(public|private|protected)\b"  # inheritance
    r"|^\s*class\s+\w+"  # a class declaration at the start of a line (not inside a C comment)
    r"|\bnamespace\s+\w+|\busing\s+namespace\b|\btemplate\s*<|\bstd::|^\s*(public|private|protected)\s*:"
    r"|\bnullptr\b|\bconstexpr\b|\bvirtual\b|#\s*include\s*<c?(iostream|string|vector|map|memory|cstdint|cstdlib|"
    r"cstdio|cstring|algorithm|utility|functional|set|list|deque|array|thread|mutex|sstream|fstream)>",
    re.MULTILINE,
)
_PYTHON_MARKERS = re.compile(r"^\s*(import\s+\w+|from\s+[\w.]+\s+import|def\s+\w+\s*\()|\bAnalysis\(", re.MULTILINE)
_RUBY_MARKERS = re.compile(r"^\s*(require\s+['\w]|describe\s|RSpec\.)|\bdo\s*(\|[^|]*\|)?\s*$", re.MULTILINE)
_RPM_SPEC_MARKERS = re.compile(r"^%(description|prep|build|install|files)\b", re.MULTILINE)
_SQL_MARKERS = re.compile(
    r"^\s*(select|insert|update|delete|create|drop|alter|flush|grant|use|begin|declare)\b",
    re.IGNORECASE | re.MULTILINE,
)
_C_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_C_PREPROCESSOR = re.compile(r"^\s*#\s*(include|define|if|ifdef|ifndef|pragma)\b", re.MULTILINE)


def _shebang_language(text: str) -> str | None:
    if not text.startswith("#!"):
        return None
    words = text[2:].split("\n", 1)[0].split()
    if not words:
        return None
    interpreter = posixpath.basename(words[0])
    if interpreter == "env":  # "#!/usr/bin/env [-S] python3 ..."
        args = [word for word in words[1:] if not word.startswith("-")]
        if not args:
            return None
        if args[0] == "uv" and args[1:2] == ["run"]:  # PEP 723 scripts run by uv
            return "Python"
        interpreter = args[0]
    interpreter = re.sub(r"[\d.]+$", "", interpreter) or interpreter  # python3.11 -> python
    return INTERPRETER_TO_LANGUAGE.get(interpreter) or INTERPRETER_TO_LANGUAGE.get(interpreter.rstrip("-"))


def _resolve_ambiguous(extension: str, text: str) -> str | None:
    if extension == "h":
        return "Cpp" if _CPP_HEADER_MARKERS.search(_C_COMMENTS.sub("", text)) else "C"
    if extension == "inc":
        if "<?php" in text or text.lstrip().startswith("<?"):
            return "PHP"
        if _C_PREPROCESSOR.search(text) or _CPP_HEADER_MARKERS.search(text) or text.lstrip().startswith("//"):
            return "Cpp"
        return "SQL" if _SQL_MARKERS.search(text) else None
    if extension == "spec":
        if _RPM_SPEC_MARKERS.search(text):
            return None
        if _PYTHON_MARKERS.search(text):
            return "Python"
        return "Ruby" if _RUBY_MARKERS.search(text) else None
    if extension == "re":  # re2c lexers are C/C++ with /*!re2c */ blocks; ReasonML is not one of the 15
        return "Cpp" if _C_PREPROCESSOR.search(text) or "re2c" in text else None
    return None  # cgi, fcgi: only the shebang tells


def _extensions(file_name: str) -> list[str]:
    """Candidate extensions, innermost wrapper removed: ``a.cs.pp`` -> ["pp", "cs"]."""
    stem = file_name.lstrip(".")
    parts = stem.lower().split(".")
    if len(parts) < 2:
        return []
    found = [parts[-1]]
    if parts[-1] in WRAPPER_EXTENSIONS:
        found.append(parts[-2])
    return found


def language_from_name(file_name: str) -> str | None:
    """The language a file name alone decides, or None (unknown, ambiguous, or no extension)."""
    if file_name in FILENAME_TO_LANGUAGE:
        return FILENAME_TO_LANGUAGE[file_name]
    for extension in _extensions(file_name):
        if extension in EXTENSION_TO_LANGUAGE:
            return EXTENSION_TO_LANGUAGE[extension]
    return None


def needs_content(file_name: str) -> bool:
    """True when the content may still decide the language: no extension (shebang) or an ambiguous one."""
    extensions = _extensions(file_name)
    return not extensions or any(extension in AMBIGUOUS_EXTENSIONS for extension in extensions)


def detect_language(file_name: str, text: str | None = None) -> str | None:
    """Stack-Edu language of a file from its name (exact names, then extensions) and, where the name is not
    enough, its content (shebang for scripts, syntax cues for ``.h``/``.inc``/``.spec``/``.re``); None when the
    file is none of the 15 languages. Only the base name is used, never the folders above it."""
    file_name = posixpath.basename(file_name)
    by_name = language_from_name(file_name)
    if by_name or text is None:
        return by_name
    by_shebang = _shebang_language(text)
    if by_shebang:
        return by_shebang
    for extension in _extensions(file_name):
        if extension in AMBIGUOUS_EXTENSIONS:
            return _resolve_ambiguous(extension, text)
    return None
