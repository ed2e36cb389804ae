"""The type and range of every recipe setting, declared once for the three recipes and the executors.

``curate.config`` checks a run's settings against this table once the YAML and the ``--set`` overrides are
applied, before any stage is built (``--dry-run`` too): a violation is one line naming the key, the value and
what is allowed. The tree mirrors ``pipelines/*.yaml``: a :class:`Section` holds named settings (an open one also
takes any other argument of the block it feeds, which that block's signature checks when the stage is built), a
:class:`Mapping` holds settings whose names are free (benchmarks, thresholds, stages), a :class:`Rule` is one value.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

from curate.assets import LID176_LANGUAGES, PUBLISHED_LID_MODEL
from curate.classify.models import PRECISIONS
from curate.languages import BY_NAME, published_thresholds


class SettingError(ValueError):
    """A setting breaks its rule; the message names the key, the value and what is allowed."""


class UnknownKeyError(SettingError):
    """A setting that no recipe key, block argument or free name allows."""


def bad_value(key: str, value: Any, allowed: str) -> SettingError:
    return SettingError(f"bad value {value!r} for {key!r}: expected {allowed}")


@dataclass(frozen=True)
class Rule:
    """One value: ``allowed`` says in words what ``accepts`` lets through; ``convert`` normalises what it accepts."""

    allowed: str
    accepts: Callable[[Any], bool]
    convert: Callable[[Any], Any] = lambda value: value

    def check(self, value: Any, key: str) -> Any:
        if not self.accepts(value):
            raise bad_value(key, value, self.allowed)
        return self.convert(value)

    def child(self, name: str) -> "Node | None":
        return None


@dataclass(frozen=True)
class Open:
    """A setting no rule here describes: an argument of a block, checked by the block's signature at build time."""

    def check(self, value: Any, key: str) -> Any:
        return value

    def child(self, name: str) -> "Node":
        return self


@dataclass(frozen=True)
class Section:
    """Named settings; with ``open_to`` (what it feeds, in words) any other name is let through as :class:`Open`."""

    fields: dict[str, "Node"]
    open_to: str | None = None

    def check(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            raise bad_value(key, value, "a mapping of settings")
        checked = {}
        for name, item in value.items():
            node = self.child(name)
            if node is None:
                raise UnknownKeyError(f"unknown key {join(key, name)!r}")
            checked[name] = node.check(item, join(key, name))
        return checked

    def child(self, name: str) -> "Node | None":
        return self.fields.get(name, OPEN if self.open_to is not None else None)


@dataclass(frozen=True)
class Mapping:
    """Free names that pass ``key``, each value passing ``value``; ``required`` names must be present."""

    key: Rule
    value: "Node"
    required: tuple[str, ...] = ()
    non_empty: bool = False
    published: Callable[[], dict] | None = None  # what null stands for, e.g. the published per-language thresholds

    def check(self, value: Any, key: str) -> dict:
        if value is None and self.published is not None:
            value = self.published()
        if not isinstance(value, dict):
            raise bad_value(key, value, f"a mapping whose names are {self.key.allowed}")
        missing = [name for name in self.required if name not in value]
        if missing:
            raise bad_value(key, value, f"a mapping with a {missing[0]!r} entry")
        if self.non_empty and not value:
            raise bad_value(key, value, "a mapping with at least one entry")
        for name in value:
            if not self.key.accepts(name):
                raise SettingError(f"bad name {name!r} in {key!r}: expected {self.key.allowed}")
        return {name: self.value.check(item, join(key, name)) for name, item in value.items()}

    def child(self, name: str) -> "Node | None":
        return self.value if self.key.accepts(name) else None


Node = Union[Rule, Open, Section, Mapping]
OPEN = Open()


def join(key: str, name: Any) -> str:
    return f"{key}.{name}" if key else str(name)


def walk(node: "Node", dotted: str) -> "Node | None":
    """The node of a dotted key, or None when the schema has no such key."""
    for part in dotted.split("."):
        node = node.child(part) if node is not None else None
    return node


# -- rules ------------------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _in_range(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _range_words(kind: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{kind} from {low} to {high}"
    if low is not None:
        return f"{kind} >= {low}"
    return f"{kind} <= {high}" if high is not None else kind


def integer(low: int | None = None, high: int | None = None, also: tuple[int, ...] = ()) -> Rule:
    """An integer in ``[low, high]``, or one of ``also``."""
    words = " or ".join([*map(str, also), _range_words("an integer", low, high)])
    return Rule(words, lambda v: _is_int(v) and (v in also or _in_range(v, low, high)))


def number(low: float | None = None, high: float | None = None, above: float | None = None) -> Rule:
    """A number in ``[low, high]``, or strictly above ``above``; integers widen to floats."""
    words = f"a number > {above}" if above is not None else _range_words("a number", low, high)
    return Rule(words, lambda v: _is_number(v) and _in_range(v, low, high) and (above is None or v > above), float)


def text(pattern: str, words: str) -> Rule:
    """A text matching ``pattern`` in full."""
    compiled = re.compile(pattern)
    return Rule(words, lambda v: isinstance(v, str) and compiled.fullmatch(v) is not None)


def choice(*values: Any) -> Rule:
    """One of ``values``; ``true`` is not ``1``."""
    words = {True: "true", False: "false"}
    return Rule(
        "one of " + ", ".join(words.get(v, str(v)) if isinstance(v, bool) else str(v) for v in values),
        lambda v: any(type(v) is type(x) and v == x for x in values),
    )


def optional(rule: Rule) -> Rule:
    """``null`` or what ``rule`` allows."""
    return Rule(f"null or {rule.allowed}", lambda v: v is None or rule.accepts(v), lambda v: None if v is None else rule.convert(v))


def list_of(item: Rule) -> Rule:
    """A list whose every item passes ``item``; one value alone is a list of one."""
    return Rule(
        f"a list of {item.allowed}",
        lambda v: all(item.accepts(x) for x in _as_list(v)),
        lambda v: [item.convert(x) for x in _as_list(v)],
    )


def pairs(first: Rule, second: Rule) -> Rule:
    """A list of ``[first, second]`` pairs, e.g. Gopher's ``[[2, 0.2], [3, 0.18]]``."""

    def accepts(v: Any) -> bool:
        return isinstance(v, list) and all(
            isinstance(p, list) and len(p) == 2 and first.accepts(p[0]) and second.accepts(p[1]) for p in v
        )

    return Rule(
        f"a list of [n, fraction] pairs (n {first.allowed}, fraction {second.allowed})",
        accepts,
        lambda v: [[first.convert(a), second.convert(b)] for a, b in v],
    )


def any_of(*rules: "Rule | Mapping") -> Rule:
    """What any of ``rules`` allows; the first that accepts converts."""

    def accepts(v: Any) -> bool:
        return any(_accepts(rule, v) for rule in rules)

    def convert(v: Any) -> Any:
        rule = next(rule for rule in rules if _accepts(rule, v))
        return rule.check(v, "") if isinstance(rule, Mapping) else rule.convert(v)

    return Rule(" or ".join(_words(rule) for rule in rules), accepts, convert)


def _accepts(rule: "Rule | Mapping", value: Any) -> bool:
    try:
        rule.check(value, "")
    except SettingError:
        return False
    return True


def _words(rule: "Rule | Mapping") -> str:
    return rule.allowed if isinstance(rule, Rule) else f"a mapping of {rule.key.allowed} to {_words(rule.value)}"


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


# -- the settings -----------------------------------------------------------------------------------------------

TEXT = Rule("a text", lambda v: isinstance(v, str) or _is_number(v), str)  # --set dump=2024 is the text "2024"
BOOLEAN = Rule("true or false", lambda v: isinstance(v, bool))
FRACTION = number(0, 1)
SCORE = number(0, 5)  # a threshold on int_score: the three recipes' label scales run from 0 to 5
MODEL = Rule("a model reference (Hub id, path or bundled:<name>)", lambda v: isinstance(v, str) and bool(v.strip()))
PATH = Rule("a path or URL", lambda v: isinstance(v, str) and bool(v.strip()))
NAME = text(r"[A-Za-z0-9][\w.-]*", "a name of letters, digits, '.', '_' and '-'")
LANGUAGE_CODE = text(r"[\w-]+", "a language code such as en")
STACK_LANGUAGE = Rule(f"a Stack-Edu language ({', '.join(BY_NAME)})", lambda v: isinstance(v, str) and v in BY_NAME)
_SLURM_TIME = re.compile(r"\d+(:\d{1,2}){0,2}|\d+-\d{1,2}(:\d{1,2}){0,2}|UNLIMITED|INFINITE")
SLURM_TIME = Rule(
    "a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]] or UNLIMITED)",
    lambda v: (_is_int(v) and v > 0) or (isinstance(v, str) and _SLURM_TIME.fullmatch(v) is not None),
    str,
)

# What a stage asks of each executor. `stages.<stage>.<executor>.<key>` overrides one stage's; GPUs are asked per
# stage only, so a stage nobody asked GPUs for (every CPU stage) never gets one.
STAGE_RESOURCES: dict[str, dict[str, Node]] = {
    "local": {},
    "slurm": {
        "partition": TEXT,
        "time": SLURM_TIME,
        "cpus_per_task": integer(1),
        "mem_per_cpu_gb": number(above=0),
        "gpus_per_task": integer(0),
        "qos": optional(TEXT),
        "sbatch_args": Mapping(NAME, any_of(TEXT, BOOLEAN)),
    },
    "ray": {"cpus_per_task": integer(1), "mem_per_cpu_gb": number(above=0), "gpus_per_task": integer(0)},
}
PER_STAGE_ONLY = ("gpus_per_task",)


def _shared(kind: str) -> dict[str, Node]:
    return {key: rule for key, rule in STAGE_RESOURCES[kind].items() if key not in PER_STAGE_ONLY}


# pipelines/executors.yaml: merged into every recipe, and into curate.mix's executor settings
EXECUTOR_SETTINGS: dict[str, Node] = {
    "slurm": Section({**_shared("slurm"), "venv_path": optional(PATH), "wait": BOOLEAN}),
    "ray": Section({**_shared("ray"), "address": optional(TEXT)}),
    "stages": Mapping(NAME, Section({kind: Section(rules) for kind, rules in STAGE_RESOURCES.items()})),
}
EXECUTORS_SCHEMA = Section(EXECUTOR_SETTINGS)

COMMON: dict[str, Node] = {
    "input": PATH,
    "tasks": integer(1),
    "workers": integer(1, also=(-1,)),
    "write_removed": BOOLEAN,
    "offline": choice("auto", True, False),
    "decontamination": Section(
        {"benchmarks": Mapping(NAME, PATH), "ngram_size": integer(1), "lcs_threshold": number(0, 1)},
        open_to="Decontaminator",
    ),
    "shard_max_bytes": integer(1),
    "push_to": optional(text(r"[\w.-]+/[\w.-]+", "a Hub dataset id <owner>/<name>")),
    "offline_models": Mapping(NAME, MODEL),
    **EXECUTOR_SETTINGS,
}
SCORER: dict[str, Node] = {
    "model": MODEL,
    "max_length": integer(1),
    "batch_size": integer(1),
    "device": text(r"auto|cpu|mps|cuda(:\d+)?", "auto, cpu, mps, cuda or cuda:N"),
    "precision": choice(*PRECISIONS),
}
WEB: dict[str, Node] = {  # the recipes that read Common Crawl
    "dump": optional(TEXT),
    "language": Section(
        {"languages": optional(list_of(LANGUAGE_CODE)), "language_threshold": FRACTION, "model": MODEL},
        open_to="FastTextLanguageFilter",
    ),
    "minhash": Section(
        {
            "n_grams": integer(1),
            "num_buckets": integer(1),
            "hashes_per_bucket": integer(1),
            "hash_fc": choice("sha1", "xxhash"),
            "precision": choice(32, 64),
            "seed": integer(),
        }
    ),
    "tokenizer": MODEL,
}


def extraction(engine: str, settings: dict[str, Node]) -> Section:
    """``extraction: {engine, <engine>: {arguments of its block}}``. Engine names are checked where the engines are
    (``curate.recipes.common.ENGINES``); the settings of an engine not described here, by its block."""
    return Section({"engine": NAME, engine: Section(settings, open_to=f"the {engine} extractor")}, open_to="engines")


def _fineweb_edu() -> dict[str, Node]:
    return {
        **WEB,
        "url_filter": Section({"soft_word_threshold": integer(1)}, open_to="OfflineURLFilter"),
        "extraction": extraction(
            "trafilatura", {"favour_precision": BOOLEAN, "timeout": number(above=0), "deduplicate": BOOLEAN}
        ),
        "gopher_repetition": Section(
            {
                "dup_line_frac": FRACTION,
                "dup_para_frac": FRACTION,
                "dup_line_char_frac": FRACTION,
                "dup_para_char_frac": FRACTION,
                "top_n_grams": pairs(integer(1), FRACTION),
                "dup_n_grams": pairs(integer(1), FRACTION),
            },
            open_to="GopherRepetitionFilter",
        ),
        "gopher_quality": Section(
            {
                "min_doc_words": optional(integer(0)),
                "max_doc_words": optional(integer(0)),
                "min_avg_word_length": optional(number(0)),
                "max_avg_word_length": optional(number(0)),
                "max_symbol_word_ratio": optional(number(0)),
                "max_bullet_lines_ratio": optional(FRACTION),
                "max_ellipsis_lines_ratio": optional(FRACTION),
                "max_non_alpha_words_ratio": optional(FRACTION),
                "min_stop_words": optional(integer(0)),
            },
            open_to="GopherQualityFilter",
        ),
        "c4_quality": Section({"filter_no_terminal_punct": BOOLEAN}, open_to="C4QualityFilter"),
        "fineweb_quality": Section(
            {
                "line_punct_thr": FRACTION,
                "short_line_thr": FRACTION,
                "short_line_length": integer(1),
                "char_duplicates_ratio": FRACTION,
                "new_line_ratio": number(0),
            },
            open_to="FineWebQualityFilter",
        ),
        "pii": Section(
            {"remove_emails": BOOLEAN, "remove_ips": BOOLEAN, "only_remove_public_ips": BOOLEAN}, open_to="PIIFormatter"
        ),
        "scorer": Section(SCORER, open_to="EduClassifierScorer"),
        "threshold": SCORE,
    }


def _finemath() -> dict[str, Node]:
    return {
        **WEB,
        "c4_rejects": optional(PATH),
        "extraction": extraction(
            "math",
            {"timeout": number(above=0), "main_content": BOOLEAN, "keep_answers": BOOLEAN, "tables_as_markdown": BOOLEAN},
        ),
        "recall": Section(
            {
                "model": MODEL,
                "min_score": SCORE,
                "min_pages": optional(integer(1)),
                "min_fraction": optional(number(0, 1)),
                "seed_files": list_of(PATH),
            },
            open_to="the recall classifier's EduClassifierScorer",  # over `scorer:`, for that classifier only
        ),
        "scorer": Section(SCORER, open_to="EduClassifierScorer"),
        "thresholds": Mapping(NAME, SCORE, non_empty=True),
        "snapshot_type": TEXT,
    }


def _stack_edu() -> dict[str, Node]:
    return {
        "input_format": choice("auto", "stack_v2", "source_tree"),
        "repo_depth": integer(1),
        "languages": list_of(STACK_LANGUAGE),
        "fetch_content": BOOLEAN,
        "content_base_url": PATH,
        "filters": Section(
            {
                "enabled": BOOLEAN,
                "max_line_length": integer(1),
                "max_mean_line_length": number(above=0),
                "min_alphanum_fraction": FRACTION,
                "auto_generated": BOOLEAN,
                "max_lines": integer(1),
                "max_bytes": optional(integer(1)),
            },
            open_to="the code filters",
        ),
        "scorer": Section(
            {**SCORER, "model": any_of(optional(MODEL), Mapping(STACK_LANGUAGE, MODEL))}, open_to="EduClassifierScorer"
        ),
        "thresholds": Mapping(
            any_of(STACK_LANGUAGE, choice("default")), SCORE, required=("default",), published=published_thresholds
        ),
        "keep_content": BOOLEAN,
    }


RECIPES: dict[str, Callable[[], dict[str, Node]]] = {
    "fineweb_edu": _fineweb_edu,
    "finemath": _finemath,
    "stack_edu": _stack_edu,
}


def recipe_schema(recipe: str) -> Section:
    """Every setting of ``recipe``: the shared ones and its own."""
    return Section({**COMMON, **RECIPES[recipe]()})


# -- rules between settings -------------------------------------------------------------------------------------


def _workers_within_tasks(params: dict) -> str | None:
    workers, tasks = params["workers"], params["tasks"]
    if workers != -1 and workers > tasks:
        return f"bad value {workers!r} for 'workers': expected -1 or at most tasks ({tasks}): a stage runs at most its tasks at once"
    return None


def _gopher_bounds(params: dict) -> str | None:
    quality = params.get("gopher_quality", {})
    for low, high in (("min_doc_words", "max_doc_words"), ("min_avg_word_length", "max_avg_word_length")):
        if quality.get(low) is not None and quality.get(high) is not None and quality[low] > quality[high]:
            return f"bad value {quality[low]!r} for 'gopher_quality.{low}': expected at most gopher_quality.{high} ({quality[high]})"
    return None


def _lid176_codes(params: dict) -> str | None:
    """lid.176 (the published model and the bundled .ftz) knows 176 codes; another fastText model may know others."""
    language = params.get("language")
    if not language or not language["languages"] or not _is_lid176(language["model"]):
        return None
    unknown = [code for code in language["languages"] if code not in LID176_LANGUAGES]
    if unknown:
        return (
            f"bad value {unknown[0]!r} in 'language.languages': expected a language code of fastText lid.176 "
            f"(e.g. en, de, fr, zh; {len(LID176_LANGUAGES)} codes in curate.assets.LID176_LANGUAGES)"
        )
    return None


def _is_lid176(model: str) -> bool:
    return model == PUBLISHED_LID_MODEL or model.endswith(("lid.176.bin", "lid.176.ftz"))


CROSS_CHECKS: tuple[Callable[[dict], str | None], ...] = (_workers_within_tasks, _gopher_bounds, _lid176_codes)


def fill_published(params: dict, tree: Section) -> None:
    """Replace a null that stands for published values (``published``) by them, so ``--set`` can change one entry."""
    for key, node in tree.fields.items():
        if isinstance(node, Mapping) and node.published is not None and params.get(key, {}) is None:
            params[key] = node.published()


def check(params: dict, tree: Section) -> dict:
    """``params`` checked and normalised (ints widened to floats, single values to lists); SettingError if not."""
    checked = tree.check(params, "")
    for rule in CROSS_CHECKS:
        message = rule(checked)
        if message:
            raise SettingError(message)
    return checked
