"""The 15 Stack-Edu languages: one source of truth for names, file names, classifiers and thresholds.

Sources:
- Language names are the config names of the Hub dataset ``HuggingFaceTB/stack-edu`` (``C``, ``CSharp``,
  ``Cpp``, ... as in its README ``dataset_info``); the same names appear in the ``language`` column.
- One classifier per language, ``HuggingFaceTB/stack-edu-classifier-<suffix>`` (bigcode/starencoder +
  regression head, 1024-token context; model cards, e.g. huggingface.co/HuggingFaceTB/stack-edu-classifier-cpp).
  Suffixes seen on published cards: c, cpp, java, javascript, typescript, python, rust, shell, swift, markdown.
  csharp, go, php, ruby and sql were not found in the stored sources; they follow the same rule
  (lower-cased config name), so check them before a production run.
- Thresholds: ``int_score >= 3`` for every language except Java, kept at ``>= 2`` (SmolLM2 paper, arXiv
  2502.02737, App. D).
- File names: extensions and special names follow GitHub linguist's ``languages.yml`` conventions (the
  classifier The Stack v2 used to label files), restricted to these 15 languages.
"""

from dataclasses import dataclass

CLASSIFIER_PREFIX = "HuggingFaceTB/stack-edu-classifier-"


@dataclass(frozen=True)
class CodeLanguage:
    """One Stack-Edu language."""

    name: str  # config / ``language`` value on the Hub, e.g. "Cpp"
    display_name: str  # as written in the annotation prompt, e.g. "C++"
    classifier_suffix: str
    threshold: int
    extensions: tuple[str, ...]  # lower case, without the dot
    filenames: tuple[str, ...] = ()  # exact file names (dotfiles, build files)
    interpreters: tuple[str, ...] = ()  # shebang interpreters

    @property
    def classifier(self) -> str:
        """Hub id of the published classifier for this language."""
        return CLASSIFIER_PREFIX + self.classifier_suffix


_SHELL_DOTFILES = (
    "bashrc", "bash_profile", "bash_logout", "bash_aliases", "bash_functions", "profile", "zshrc", "zprofile",
    "zshenv", "zlogin", "zlogout", "kshrc", "cshrc", "login", "xinitrc", "xsession", "xprofile", "tmux.conf",
)  # fmt: skip

LANGUAGES: tuple[CodeLanguage, ...] = (
    CodeLanguage("Python", "Python", "python", 3,
                 ("py", "pyw", "pyi", "py3", "pyde", "pyp", "pyt", "rpy", "gyp", "gypi", "tac", "wsgi", "xpy", "lmi"),
                 ("DEPS", ".gclient", "SConstruct", "SConscript", "wscript"),
                 ("python", "python2", "python3", "pypy", "pypy3")),
    CodeLanguage("Cpp", "C++", "cpp", 3,
                 ("cpp", "cc", "cxx", "c++", "cp", "cppm", "hpp", "hh", "hxx", "h++", "inl", "ipp", "ixx", "tcc",
                  "tpp", "txx", "ino")),
    CodeLanguage("Markdown", "Markdown", "markdown", 3,
                 ("md", "markdown", "mdown", "mdwn", "mkd", "mkdn", "mkdown", "ronn", "scd", "workbook", "livemd"),
                 ("contents.lr",)),
    CodeLanguage("C", "C", "c", 3, ("c", "cats", "idc")),
    CodeLanguage("JavaScript", "JavaScript", "javascript", 3,
                 ("js", "mjs", "cjs", "jsx", "es", "es6", "gs", "jsb", "jscad", "jsm", "jss", "xsjs", "xsjslib",
                  "sjs", "pac", "javascript"),
                 ("Jakefile",), ("node", "nodejs", "rhino", "v8")),
    CodeLanguage("Java", "Java", "java", 2, ("java", "jav", "jsh")),
    CodeLanguage("SQL", "SQL", "sql", 3,
                 ("sql", "cql", "ddl", "mysql", "prc", "tab", "udf", "viw", "pls", "pkb", "pks", "plb", "plsql",
                  "pck", "pgsql", "tsql", "db2")),
    CodeLanguage("PHP", "PHP", "php", 3,
                 ("php", "php3", "php4", "php5", "phps", "phpt", "phtml", "ctp", "php_cs"),
                 (".php", ".php_cs", "Phakefile"), ("php", "php5", "php7", "php8")),
    CodeLanguage("CSharp", "C#", "csharp", 3, ("cs", "cake", "csx", "linq")),
    CodeLanguage("TypeScript", "TypeScript", "typescript", 3, ("ts", "cts", "mts"), (), ("ts-node", "deno", "tsx")),
    CodeLanguage("Shell", "Shell", "shell", 3,
                 ("sh", "bash", "bats", "command", "ksh", "zsh", "zsh-theme", "tmux", "tool", "trigger", "ebuild",
                  "eclass", "pacscript", "slurm"),
                 tuple(f".{name}" for name in _SHELL_DOTFILES) + _SHELL_DOTFILES + ("PKGBUILD", "APKBUILD", "gradlew"),
                 ("sh", "bash", "zsh", "ksh", "dash", "ash", "mksh", "pdksh", "rc")),
    CodeLanguage("Swift", "Swift", "swift", 3, ("swift",), (), ("swift",)),
    CodeLanguage("Go", "Go", "go", 3, ("go",)),
    CodeLanguage("Rust", "Rust", "rust", 3, ("rs",), (), ("rust-script", "run-cargo-script")),
    CodeLanguage("Ruby", "Ruby", "ruby", 3,
                 ("rb", "builder", "gemspec", "god", "jbuilder", "podspec", "rabl", "rake", "rbi", "rbuild", "rbw",
                  "rbx", "ru", "ruby", "thor", "watchr", "pluginspec"),
                 ("Gemfile", "Rakefile", "Podfile", "Fastfile", "Appfile", "Capfile", "Dangerfile", "Deliverfile",
                  "Snapfile", "Appraisals", "Guardfile", "Vagrantfile", "Berksfile", "Thorfile", "Brewfile",
                  "Steepfile", "Puppetfile", "Matchfile", "Scanfile", "Gymfile", ".pryrc", ".irbrc", ".simplecov"),
                 ("ruby", "jruby", "rbx", "macruby", "truffleruby")),
)  # fmt: skip

BY_NAME: dict[str, CodeLanguage] = {language.name: language for language in LANGUAGES}
THRESHOLDS: dict[str, int] = {language.name: language.threshold for language in LANGUAGES}
CLASSIFIERS: dict[str, str] = {language.name: language.classifier for language in LANGUAGES}

# Extensions shared by several of the 15 languages (or with other languages): decided from the content in
# curate.blocks.code.detect_language. ``h``: C unless the header uses C++ syntax (C is the safe default: a C++
# compiler reads C headers, and linguist does the same). ``inc``: PHP, C++ or SQL. ``cgi``/``fcgi``: shebang.
# ``spec``: Python (PyInstaller) or Ruby (RSpec), RPM spec files are neither. ``re``: re2c (C++) only.
AMBIGUOUS_EXTENSIONS: frozenset[str] = frozenset({"h", "inc", "cgi", "fcgi", "spec", "re"})

# Template suffixes that wrap a real source file, e.g. ``Foo.cs.pp`` (NuGet), ``.php_cs.dist``, ``config.sh.in``.
WRAPPER_EXTENSIONS: frozenset[str] = frozenset({"pp", "dist", "in", "tmpl", "template"})

EXTENSION_TO_LANGUAGE: dict[str, str] = {}
FILENAME_TO_LANGUAGE: dict[str, str] = {}
INTERPRETER_TO_LANGUAGE: dict[str, str] = {}
for _language in LANGUAGES:
    for _ext in _language.extensions:
        assert _ext not in EXTENSION_TO_LANGUAGE, f"extension {_ext} listed twice"
        EXTENSION_TO_LANGUAGE[_ext] = _language.name
    for _filename in _language.filenames:
        FILENAME_TO_LANGUAGE[_filename] = _language.name
    for _interpreter in _language.interpreters:
        INTERPRETER_TO_LANGUAGE[_interpreter] = _language.name


DEFAULT_THRESHOLD = 3  # SmolLM2 App. D: int_score >= 3 for every language but the ones listed with their own


def published_thresholds() -> dict[str, int]:
    """The recipe's ``thresholds`` setting as published: ``{"default": 3, "Java": 2}``."""
    own = {name: threshold for name, threshold in THRESHOLDS.items() if threshold != DEFAULT_THRESHOLD}
    return {"default": DEFAULT_THRESHOLD, **own}


def get_language(name: str) -> CodeLanguage:
    """The language called ``name`` (Hub config name, e.g. "Cpp"); a clear error for anything else."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown Stack-Edu language {name!r}; known: {', '.join(BY_NAME)}") from None


def classifier_models(
    models: str | dict[str, str] | None = None, languages: list[str] | None = None
) -> dict[str, str]:
    """The classifier of each language, as ``EduClassifierScorer(model=..., group_key="language")`` takes it.

    ``models``: None for the published classifiers; one reference for every language; or a dict language -> ref.
    ``languages`` keeps only those languages (default: all 15). Unknown language names are a ValueError.
    """
    if models is None:
        models = dict(CLASSIFIERS)
    elif isinstance(models, str):
        models = {language: models for language in BY_NAME}
    chosen = {language: ref for language, ref in models.items() if languages is None or language in languages}
    unknown = sorted((set(chosen) | set(languages or ())) - set(BY_NAME))
    if unknown:
        raise ValueError(f"unknown languages {unknown}; known: {', '.join(BY_NAME)}")
    return chosen
