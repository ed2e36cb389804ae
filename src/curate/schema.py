"""How a setting is described and checked: the tree types and the rules (``curate.settings`` holds the table).

A :class:`Section` holds named settings; one that names the blocks it feeds (``blocks``) also takes any other
argument of those blocks, by the block's own argument name. A :class:`Mapping` holds settings whose names are free
(benchmarks, thresholds, stages); a :class:`Rule` is one value. A violation is a :class:`SettingError` whose
message is one line naming the key, the value and what is allowed.
"""

import importlib
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


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
    """Named settings; any other argument of ``blocks`` (``"module:Class"`` paths) is let through as :class:`Open`."""

    fields: dict[str, "Node"]
    blocks: tuple[str, ...] = ()
    other_names: Callable[[], set[str]] | None = None  # more names it takes, when no block's signature says them

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
        if name in self.fields:
            return self.fields[name]
        if any(takes(block, name) for block in self.blocks) or (self.other_names and name in self.other_names()):
            return OPEN
        return None


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


Node = Rule | Open | Section | Mapping
OPEN = Open()


def block_class(path: str) -> type:
    """The class at ``"module:Class"``, imported on first use (blocks pull in heavy libraries)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def named_arguments(cls: Callable) -> set[str]:
    """The argument names a block's constructor lists."""
    parameters = inspect.signature(cls).parameters.values()
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def block_arguments(cls: Callable) -> set[str] | None:
    """The names a block's constructor takes (None: any, it has ``**kwargs``)."""
    if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values()):
        return None
    return named_arguments(cls)


def takes(block: str, name: str) -> bool:
    arguments = block_arguments(block_class(block))
    return arguments is None or name in arguments


def join(key: str, name: Any) -> str:
    return f"{key}.{name}" if key else str(name)


# -- rules ------------------------------------------------------------------------------------------------------


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
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
    return Rule(words, lambda v: is_int(v) and (v in also or _in_range(v, low, high)))


def number(low: float | None = None, high: float | None = None, above: float | None = None) -> Rule:
    """A number in ``[low, high]``, or strictly above ``above``; integers widen to floats."""
    words = f"a number > {above}" if above is not None else _range_words("a number", low, high)
    return Rule(words, lambda v: is_number(v) and _in_range(v, low, high) and (above is None or v > above), float)


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
    return Rule(
        f"null or {rule.allowed}",
        lambda v: v is None or rule.accepts(v),
        lambda v: None if v is None else rule.convert(v),
    )


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


def check(params: dict, tree: Section, cross_checks: Iterable[Callable[[dict], str | None]] = ()) -> dict:
    """``params`` checked and normalised (ints widened to floats, single values to lists), then each rule between
    settings of ``cross_checks`` (a message when broken); SettingError on the first fault."""
    checked = tree.check(params, "")
    for rule in cross_checks:
        message = rule(checked)
        if message:
            raise SettingError(message)
    return checked
