"""Tiny RANDOM Hugging Face models built inside tests (never the published ones: tests download nothing)."""

from pathlib import Path

from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast


def build_tiny_random_bert(folder: Path, output: float, positions: int = 1024) -> str:
    """A random 1-layer BERT regression model whose head always outputs ``output``, with a character vocabulary."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [chr(c) for c in range(33, 127)]
    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=False)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=positions,
        num_labels=1,
    )
    model = BertForSequenceClassification(config)
    model.classifier.weight.data.zero_()
    model.classifier.bias.data.fill_(output)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
