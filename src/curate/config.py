"""Recipe configuration: ``pipelines/<recipe>.yaml`` plus ``--set key=value`` overrides with type checks."""

import copy
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from curate.assets import package_data

PIPELINES_DIR = package_data("pipelines")  # the top-level pipelines/ folder, installed as curate.pipelines
DEMO_INPUT = "demo"


class ConfigError(ValueError):
    """A recipe name, key or value the user gave is not valid; the message is one sentence for stderr."""


@dataclass
class RecipeConfig:
    """The parameters of one recipe run: a nested mapping addressed with dotted keys."""

    recipe: str
    params: dict[str, Any]

    def __getitem__(self, dotted: str) -> Any:
        node: Any = self.params
        for part in dotted.split("."):
            node = node[part]
        return node

    def get(self, dotted: str, default: Any = None) -> Any:
        try:
            return self[dotted]
        except (KeyError, TypeError):
            return default

    def section(self, dotted: str) -> dict[str, Any]:
        """A copy of a nested mapping, e.g. ``cfg.section("gopher_quality")`` to pass as keyword arguments."""
        return copy.deepcopy(self[dotted])


def available_recipes(pipelines_dir: Path | None = None) -> list[str]:
    """The recipes: YAML files of ``pipelines/`` that have a ``curate.recipes`` module to build them."""
    pipelines_dir = pipelines_dir or PIPELINES_DIR
    return sorted(p.stem for p in pipelines_dir.glob("*.yaml") if importlib.util.find_spec(f"curate.recipes.{p.stem}"))


def load_recipe_config(
    recipe: str, overrides: list[str] = (), pipelines_dir: Path | None = None, demo_settings: bool = True
) -> RecipeConfig:
    """Read ``pipelines/<recipe>.yaml`` and apply ``key=value`` overrides (dotted keys reach nested values).

    With the demo input, the recipe's ``demo:`` section adapts a few settings to the small sample, unless
    ``demo_settings`` is False or a setting is given explicitly.
    """
    pipelines_dir = pipelines_dir or PIPELINES_DIR
    path = pipelines_dir / f"{recipe}.yaml"
    if recipe not in available_recipes(pipelines_dir):
        known = ", ".join(available_recipes(pipelines_dir)) or "none"
        raise ConfigError(f"unknown recipe {recipe!r} (known: {known})")
    params = yaml.safe_load(path.read_text()) or {}
    demo_params = params.pop("demo", None) or {}
    given = set()
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {override!r}")
        set_value(params, key.strip(), raw, recipe)
        given.add(key.strip())
    if params.get("input") == DEMO_INPUT and demo_settings:
        # the built-in sample is small: a recipe's `demo:` section adapts a few settings, unless set explicitly
        for key, value in demo_params.items():
            if key not in given:
                set_value(params, key, yaml.safe_dump(value), recipe)
    return RecipeConfig(recipe, params)


def set_value(params: dict[str, Any], dotted: str, raw: str, recipe: str) -> None:
    """Set ``params[dotted] = raw`` parsed as YAML, keeping the type of the recipe's default."""
    *parents, leaf = dotted.split(".")
    node = params
    for i, part in enumerate(parents):
        if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
            raise ConfigError(f"unknown key {'.'.join(parents[: i + 1])!r} for recipe {recipe!r}")
        node = node[part]
    if leaf not in node:
        raise ConfigError(f"unknown key {dotted!r} for recipe {recipe!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    node[leaf] = coerce(value, node[leaf], dotted)


def coerce(value: Any, default: Any, key: str) -> Any:
    """Check ``value`` against the default's type; ints widen to floats, ``null`` defaults accept anything."""
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif isinstance(default, int) and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif isinstance(default, str):
        return str(value)
    elif isinstance(default, list):
        return value if isinstance(value, list) else [value]
    elif isinstance(default, dict) and isinstance(value, dict):
        return value
    raise ConfigError(f"bad value {value!r} for {key!r}: expected {type(default).__name__}")
