"""Before any task starts: find every model, tokenizer, language-ID file and benchmark the run needs.

Each block that needs a file reports it with ``required_assets()``; the preflight walks the built stages, so it
follows whatever the recipe builds. Nothing here downloads: ``curate fetch`` does (see ``curate.fetch``).
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.assets import Asset
from curate.config import RecipeConfig
from curate.recipes import Stage


def required_assets(stages: list[Stage]) -> list[Asset]:
    """The assets of every step of every stage, once each, in pipeline order."""
    found: dict[Asset, None] = {}
    for stage in stages:
        for step in stage.pipeline:
            for asset in getattr(step, "required_assets", list)():
                found.setdefault(asset, None)
    return list(found)


def _leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), node


def config_keys(cfg: RecipeConfig, ref: str) -> list[str]:
    """The dotted config keys whose value is ``ref``: what ``--set`` changes to point the run elsewhere."""
    return [key for key, value in _leaves(cfg.params) if value == ref]


def missing_line(asset: Asset, cfg: RecipeConfig, fetch_command: str) -> str:
    """One line naming a missing asset, why it is missing, and how to fix it."""
    keys = config_keys(cfg, asset.ref)
    fixes = [f"run `{fetch_command}`"] if asset.fetchable else []
    fixes += [f"--set {key}=<path>" for key in keys]
    where = f" ({', '.join(keys)})" if keys else ""
    fix = f"; fix: {' or '.join(fixes)}" if fixes else ""
    return f"error: missing {asset.kind} {asset.ref!r}{where}: {asset.missing_reason()}{fix}"


def check(stages: list[Stage], cfg: RecipeConfig, fetch_command: str) -> tuple[dict[str, dict], list[str]]:
    """``(found, missing)``: where each asset was found (for run.json), and one error line per missing one."""
    found, missing = {}, []
    for asset in required_assets(stages):
        path = asset.locate()
        if path is None:
            missing.append(missing_line(asset, cfg, fetch_command))
        else:
            found[asset.ref] = {"kind": asset.kind, "path": str(Path(path))}
    return found, missing
