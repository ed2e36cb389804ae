"""Train an educational-quality classifier from annotation Parquet files.

    python -m curate.train --annotations ann/*.parquet --kind hf --output classifiers/my-edu
    python -m curate.train --annotations ann.parquet --kind embedding-ridge --base-model bundled:all-minilm-l6-v2 \\
        --output classifiers/fineweb_edu/demo-minilm-ridge

Defaults of ``--kind hf`` are the published FineWeb-Edu recipe (Snowflake/snowflake-arctic-embed-m, frozen
encoder, lr 3e-4, 20 epochs, batch 256, 10 % validation, 512 tokens). The evaluation report lands in
``<output>/eval``.
"""

import argparse
import json
import sys

from curate.classify.train import KINDS, REFERENCE, train_classifier


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m curate.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotations", nargs="+", required=True, help="annotation Parquet file(s)")
    parser.add_argument("--kind", choices=KINDS, default="hf", help="classifier kind (default: hf)")
    parser.add_argument("--base-model", help="encoder ref: Hub id, path or bundled:<name> (default: per kind)")
    parser.add_argument("--output", required=True, help="folder to write the model and eval/ into")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--score-column", default="score")
    parser.add_argument("--epochs", type=int, help=f"default: {REFERENCE.epochs} (hf)")
    parser.add_argument("--lr", type=float, help=f"learning rate; default: {REFERENCE.learning_rate} (hf)")
    parser.add_argument("--batch-size", type=int, help=f"default: {REFERENCE.batch_size} (hf)")
    parser.add_argument("--max-length", type=int, default=REFERENCE.max_length, help="tokens per text")
    parser.add_argument("--valid-fraction", type=float, default=REFERENCE.valid_fraction)
    parser.add_argument("--seed", type=int, default=REFERENCE.seed)
    parser.add_argument("--language", help="keep only rows whose `language` column equals this (Stack-Edu)")
    parser.add_argument("--max-score", type=int, default=5, help="top of the label scale")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = train_classifier(
            args.annotations,
            args.output,
            kind=args.kind,
            base_model=args.base_model,
            text_column=args.text_column,
            score_column=args.score_column,
            epochs=args.epochs,
            learning_rate=args.lr,
            batch_size=args.batch_size,
            max_length=args.max_length,
            valid_fraction=args.valid_fraction,
            seed=args.seed,
            language=args.language,
            max_score=args.max_score,
            device=args.device,
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    valid = report["valid"]
    summary = {
        "output": args.output,
        "n_train": report["n_train"],
        "n_valid": report["n_valid"],
        "skipped": report["skipped"],
        "macro_f1": round(valid["macro_f1"], 4),
        "binary_f1": {t: round(v, 4) for t, v in valid["binary_f1"].items()},
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
