"""Tiny RANDOM Hugging Face models built inside tests (never the published ones: tests download nothing)."""

from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from curate.assets import resolve


def tiny_bert(folder: Path, *, seed: int = 0, bias: float | None = None, max_positions: int = 128) -> Path:
    """Save a RANDOM 2-layer BERT regression model (num_labels=1) and the MiniLM tokenizer into ``folder``.

    With ``bias`` set, the classifier weights are zeroed so every text scores exactly ``bias``.
    """
    tokenizer = AutoTokenizer.from_pretrained(resolve("bundled:all-minilm-l6-v2"))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_positions,
        num_labels=1,
        problem_type="regression",
        initializer_range=0.5,  # spread the random outputs so different inputs give clearly different scores
    )
    model = BertForSequenceClassification(config).eval()
    if bias is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.fill_(bias)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
