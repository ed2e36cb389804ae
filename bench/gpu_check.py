"""One prepared run on a lent GPU machine: the CUDA paths of the scorer and the reference training recipe.

`python -m bench.gpu_check TOKENIZER_DIR OUT_DIR` with a BERT WordPiece tokenizer folder (the bundled MiniLM's
uses BERT's 30,522-token uncased vocabulary). Writes gpu_check.json. The classifier is a RANDOM BERT-base
(the published FineWeb-Edu classifier's size: snowflake-arctic-embed-m is a BERT-base) since nothing can be
downloaded there; throughput does not depend on the weights.
"""

import json
import sys
import time
import traceback
from pathlib import Path


def _timed(fn):
    import torch

    torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    torch.cuda.synchronize()
    return result, time.perf_counter() - start


def main(tokenizer_dir: str, out_dir: str) -> None:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, pipeline

    from curate.sample import web_pages

    out = Path(out_dir)
    results: dict = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    model_dir = Path("/tmp/bert-base-random")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(num_labels=1, problem_type="regression")).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)

    bodies = [p["body"] for p in web_pages()]
    texts = [bodies[i % len(bodies)] + "\n\n" + bodies[(i * 7 + 3) % len(bodies)] for i in range(8192)]
    tokens = sum(min(len(ids), 512) for ids in tokenizer(texts, truncation=True, max_length=512)["input_ids"])
    results["docs"], results["tokens_seen"] = len(texts), tokens

    def check(name, fn):
        try:
            results[name] = fn()
        except Exception:
            results[name] = {"error": traceback.format_exc()[-2000:]}
        print(name, json.dumps(results[name])[:600], flush=True)

    def scorer():
        from curate.classify.models import load_regressor

        reg = load_regressor(str(model_dir), max_length=512, device="cuda", batch_size=256)
        reg.predict(texts[:512])  # warm-up: kernels, allocator
        scores, seconds = _timed(lambda: reg.predict(texts))
        return {
            "seconds": seconds,
            "docs_per_s": len(texts) / seconds,
            "tokens_per_s": tokens / seconds,
            "dtype": str(next(reg.model.parameters()).dtype) if hasattr(reg, "model") else None,
            "finite": bool(all(s == s for s in scores)),
        }

    def plain_pipeline():
        pipe = pipeline(
            "text-classification", model=str(model_dir), device=0, dtype=torch.bfloat16, function_to_apply="none"
        )
        pipe(texts[:512], batch_size=256, truncation=True, max_length=512)
        _, seconds = _timed(lambda: pipe(texts, batch_size=256, truncation=True, max_length=512))
        return {"seconds": seconds, "docs_per_s": len(texts) / seconds, "tokens_per_s": tokens / seconds}

    def scorer_block():
        from datatrove.data import Document

        from curate.blocks.scorer import EduClassifierScorer

        step = EduClassifierScorer(model=str(model_dir), device="auto", batch_size=256)
        docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts[:2048])]
        scored = list(step.run(iter(docs)))
        return {
            "docs": len(scored),
            "all_scored": all("score" in d.metadata and "int_score" in d.metadata for d in scored),
            "model": scored[0].metadata.get("score_model"),
        }

    def reference_training():
        import pyarrow as pa
        import pyarrow.parquet as pq

        from curate.classify.train import train_classifier

        pages = [p for p in web_pages() if p["lang"] == "en"]
        ann = Path("/tmp/annotations.parquet")
        pq.write_table(
            pa.table(
                {
                    "id": [p["id"] for p in pages],
                    "text": [p["body"] for p in pages],
                    "score": [float(p["edu_score"]) for p in pages],
                }
            ),
            ann,
        )
        start = time.perf_counter()
        report = train_classifier([ann], "/tmp/trained", kind="hf", base_model=str(model_dir), device="cuda")
        return {"seconds": time.perf_counter() - start, "valid": report.get("valid", {}).get("binary_f1")}

    def vllm_import():
        import vllm  # noqa: F401

        return {"vllm": vllm.__version__}

    check("scorer_cuda_bf16", scorer)
    check("transformers_pipeline_cuda_bf16", plain_pipeline)
    check("scorer_block_auto_device", scorer_block)
    check("reference_training_cuda", reference_training)
    check("vllm", vllm_import)
    (out / "gpu_check.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:3])
