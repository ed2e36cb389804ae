"""``python -m curate.mix <mixture> --stage N [--budget TOKENS] [--max-epochs E] [--output DIR] [--tokenize]``.

``<mixture>``: a shipped mixture by name (``smollm2``, from ``pipelines/mixtures/``) or a mixture file.

Counts the tokens of every source of a stage (its ``token_count`` column, or the offline SmolLM2 tokenizer),
computes per-source sampling weights and epochs for the stage's token budget, warns about sources that would
repeat more than ``--max-epochs`` times, and writes ``stage<N>.json`` and ``stage<N>.md`` manifests. With
``--tokenize`` it also writes datatrove-tokenized shards per source for nanotron.
"""

import argparse
import sys
from pathlib import Path

from curate.config import ConfigError, mixture_file
from curate.publish.mixture import (
    MixtureError,
    count_tokens,
    load_mixture,
    manifest_markdown,
    parse_tokens,
    plan_stage,
    resolve_source_paths,
    tokenize_source,
    write_manifest,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m curate.mix", description=__doc__)
    parser.add_argument("mixture", help="a shipped mixture by name (smollm2) or a mixture file")
    parser.add_argument("--stage", type=int, required=True, help="stage number")
    parser.add_argument("--budget", help="tokens to plan for, e.g. 2T or 5M (default: the stage's token range)")
    parser.add_argument("--max-epochs", type=float, default=4.0, help="most repeats of a source (default: 4)")
    parser.add_argument("--no-cap", action="store_true", help="only warn about sources over --max-epochs")
    parser.add_argument("--output", help="manifest folder (default: out/mixtures/<mixture>)")
    parser.add_argument("--path", action="append", default=[], metavar="NAME=PATH", help="local data of a source")
    parser.add_argument("--tokenizer", help="tokenizer.json path or bundled: reference (default: the mixture's)")
    parser.add_argument("--count-with-tokenizer", action="store_true", help="ignore token_count columns")
    parser.add_argument("--tokenize", action="store_true", help="also write datatrove-tokenized shards per source")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        mixture = load_mixture(mixture_file(args.mixture))
        if args.stage not in mixture.stages:
            raise MixtureError(f"no stage {args.stage} in {args.mixture} (stages: {sorted(mixture.stages)})")
        overrides = {}
        for item in args.path:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise MixtureError(f"--path wants NAME=PATH, got {item!r}")
            overrides[name] = path
        stage = mixture.stages[args.stage]
        resolve_source_paths(stage, overrides)
        tokenizer = args.tokenizer or mixture.tokenizer
        counts = {
            source.name: count_tokens(source.path, source.text_column, tokenizer, not args.count_with_tokenizer)
            for source in stage.sources
        }
        budget = parse_tokens(args.budget) if args.budget else None
        plan = plan_stage(mixture, args.stage, counts, budget, args.max_epochs, cap=not args.no_cap)
        output = Path(args.output or f"out/mixtures/{mixture.name}")
        tokenized = {}
        if args.tokenize:
            for source in stage.sources:
                folder = tokenize_source(
                    source, output / "tokenized", tokenizer, mixture.eos_token, output / "logs" / source.name
                )
                tokenized[source.name] = str(folder)
        json_path, md_path = write_manifest(plan, output, tokenized)
    except (MixtureError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(manifest_markdown(plan))
    print(f"manifest: {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
