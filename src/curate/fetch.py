"""``curate fetch <recipe> [--input ...] [--set key=value ...]`` (also ``python -m curate.fetch``).

Downloads every model, tokenizer, language-ID file and benchmark a run of the recipe with these settings needs
into the user's caches (Hugging Face models, tokenizers and datasets into ``HF_HOME``/``HF_HUB_CACHE``; fastText's
lid.176.bin where datatrove caches it, ``HF_HOME/assets/datatrove``), once, e.g. on a cluster's login node.
What is already cached is listed and left alone. The tasks of a run then read only from the caches.

Without ``--input`` or ``offline``, it fetches what a run on real input needs: the published models
(``offline=false``); the built-in demo needs nothing fetched.
"""

import argparse
import sys

from curate import preflight
from curate.assets import Asset
from curate.config import ConfigError, load_recipe_config
from curate.recipes import RunPaths, build_stages
from curate.run import add_recipe_arguments, overrides_of


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="curate fetch", description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", help="recipe name, as for curate run")
    add_recipe_arguments(parser)
    return parser.parse_args(argv)


def fetch_one(asset: Asset) -> tuple[str, str]:
    """``(status, where or why)`` for one asset: cached, fetched or failed."""
    path = asset.locate()
    if path is not None:
        return "cached", str(path)
    if not asset.fetchable:
        return "failed", asset.missing_reason()
    try:
        return "fetched", str(asset.fetch())
    except Exception as error:  # one failed download (offline, 404, gated repo) must not hide the others
        return "failed", f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = overrides_of(args)
    production = not any(o.split("=", 1)[0] in ("input", "offline") for o in overrides)
    if production:  # what a run on real input needs, not the demo's offline models
        overrides.insert(0, "offline=false")
    try:
        cfg = load_recipe_config(args.recipe, overrides, demo_settings=not production)
        stages = build_stages(cfg, RunPaths(output=f"out/{args.recipe}", logs=f"out/{args.recipe}/logs"))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = 0
    for asset in preflight.required_assets(stages):
        status, detail = fetch_one(asset)
        failed += status == "failed"
        print(f"{status:<8} {asset.kind} {asset.ref}: {detail}", file=sys.stderr if status == "failed" else sys.stdout)
    if failed:
        print(f"error: {failed} asset(s) could not be fetched", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
