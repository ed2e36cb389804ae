"""Recipe configuration: ``pipelines/executors.yaml`` and ``pipelines/<recipe>.yaml``, ``--set key=value`` overrides
(each value is YAML), then every setting checked against ``curate.settings`` before anything is built."""

import copy
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from curate import schema, settings
from curate.assets import package_data

PIPELINES_DIR = package_data("pipelines")  # the top-level pipelines/ folder, installed as curate.pipelines
EXECUTORS_FILE = "executors.yaml"  # the executor settings every recipe shares (not a recipe)
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
        return copy.deepcopy(self.get(dotted) or {})


class _YamlLoader(yaml.SafeLoader):
    """YAML without base-60 numbers: ``--set slurm.time=04:00:00`` stays the text it reads as, not 14400."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)  # fmt: skip


def parse_value(raw: str, key: str) -> Any:
    """A ``--set`` value as YAML (an empty value is null); text that is not valid YAML is an error, not a string."""
    if not raw.strip():
        return None
    try:
        return yaml.load(raw, Loader=_YamlLoader)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError(
            f"bad value {raw!r} for {key!r}: not valid YAML ({problem}); quote text that holds [ ] {{ }} : #"
        ) from None


def read_yaml(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_YamlLoader) or {}


def available_recipes(pipelines_dir: Path | None = None) -> list[str]:
    """The recipes: YAML files of ``pipelines/`` that have a ``curate.recipes`` module to build them."""
    pipelines_dir = pipelines_dir or PIPELINES_DIR
    return sorted(p.stem for p in pipelines_dir.glob("*.yaml") if importlib.util.find_spec(f"curate.recipes.{p.stem}"))


def executor_defaults(pipelines_dir: Path | None = None) -> dict[str, Any]:
    """``pipelines/executors.yaml``: the ``slurm:``, ``ray:`` and ``stages:`` settings every recipe starts from."""
    path = (pipelines_dir or PIPELINES_DIR) / EXECUTORS_FILE
    return read_yaml(path) if path.is_file() else {}


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over``'s values, nested mappings merged key by key."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_recipe_config(
    recipe: str, overrides: list[str] = (), pipelines_dir: Path | None = None, demo_settings: bool = True
) -> RecipeConfig:
    """The settings of a run: the shared executor settings, ``pipelines/<recipe>.yaml``, then ``key=value``
    overrides (dotted keys reach nested values), every value checked against ``curate.settings``.

    With the demo input, the recipe's ``demo:`` section adapts a few settings to the small sample, unless
    ``demo_settings`` is False or a setting is given explicitly.
    """
    pipelines_dir = pipelines_dir or PIPELINES_DIR
    known = available_recipes(pipelines_dir)
    if recipe not in known:
        hint = "; a recipe is named, not given as a path" if re.search(r"[/\\]|\.ya?ml$", recipe) else ""
        raise ConfigError(f"unknown recipe {recipe!r} (known: {', '.join(known) or 'none'}){hint}")
    params = merged(executor_defaults(pipelines_dir), read_yaml(pipelines_dir / f"{recipe}.yaml"))
    demo_params = params.pop("demo", None) or {}
    tree = settings.recipe_schema(recipe)
    settings.fill_published(params, tree)
    where = f"recipe {recipe!r}"
    given = apply_overrides(params, overrides, tree, where)
    if params.get("input") == DEMO_INPUT and demo_settings:
        # the built-in sample is small: a recipe's `demo:` section adapts a few settings, unless set explicitly
        for key, value in demo_params.items():
            if key not in given:
                set_value(params, key, value, tree, where)
    return RecipeConfig(recipe, checked(params, tree, where))


def load_executor_config(name: str, sections: dict[str, Any], overrides: list[str] = ()) -> RecipeConfig:
    """The executor settings of a run that is not a recipe (``curate mix``): ``pipelines/executors.yaml``, then
    ``sections`` (its own ``slurm:``/``ray:``), then ``--set`` overrides, checked as a recipe's are."""
    params = merged(executor_defaults(), sections)
    tree = settings.EXECUTORS_SCHEMA
    apply_overrides(params, overrides, tree, name)
    return RecipeConfig(name, checked(params, tree, name, cross_checks=()))


def apply_overrides(params: dict[str, Any], overrides: list[str], tree: schema.Node, where: str) -> set[str]:
    """Apply ``key=value`` overrides in order; the keys that were set."""
    given = set()
    for override in overrides:
        key, sep, raw = override.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {override!r}")
        set_value(params, key, parse_value(raw, key), tree, where)
        given.add(key)
    return given


def set_value(params: dict[str, Any], dotted: str, value: Any, tree: schema.Node, where: str) -> None:
    """``params[dotted] = value`` for a key the recipe has, or that its schema allows (a block argument, a stage)."""
    *parents, leaf = dotted.split(".")
    node, spec = params, tree
    for i, part in enumerate(parents):
        spec = spec.child(part) if spec is not None else None
        if part not in node and isinstance(spec, (schema.Section, schema.Mapping, schema.Open)):
            node[part] = {}  # e.g. stages.score.slurm: a section the schema allows but the YAML leaves out
        if not isinstance(node.get(part), dict):
            raise ConfigError(f"unknown key {'.'.join(parents[: i + 1])!r} for {where}")
        node = node[part]
    if leaf not in node and (spec is None or spec.child(leaf) is None):
        if isinstance(spec, schema.Mapping):
            raise ConfigError(f"bad name {leaf!r} in {'.'.join(parents)!r}: expected {spec.key.allowed}")
        raise ConfigError(f"unknown key {dotted!r} for {where}{_hint(dotted)}")
    node[leaf] = value


def _hint(dotted: str) -> str:
    kind, _, key = dotted.partition(".")
    if kind in settings.STAGE_RESOURCES and key in settings.PER_STAGE_ONLY:
        return f" ({key} is asked per stage: --set stages.<stage>.{dotted}=N)"
    return ""


def check_folder(option: str, path: str) -> None:
    """``--output``/``--logs`` must name a folder (or where one can be made): not a file, nor a path under one."""
    if "://" in path:
        return
    for at in (Path(path), *Path(path).absolute().parents):
        if at.exists():
            if not at.is_dir():
                where = "is a file" if at == Path(path) else f"is under the file {str(at)!r}"
                raise ConfigError(f"bad value {path!r} for '{option}': expected a folder, and this path {where}")
            return


def checked(
    params: dict[str, Any], tree: schema.Section, where: str, cross_checks=settings.CROSS_CHECKS
) -> dict[str, Any]:
    """``params`` after the checks of ``curate.settings`` (ints widened to floats, ...); a ConfigError if not."""
    try:
        return schema.check(params, tree, cross_checks)
    except schema.UnknownKeyError as error:
        raise ConfigError(f"{error} for {where}") from None
    except schema.SettingError as error:
        raise ConfigError(str(error)) from None
