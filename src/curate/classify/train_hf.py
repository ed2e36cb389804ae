"""The published recipe's trainer: a BERT-like encoder with a one-output regression head, encoder frozen.

FineWeb paper §4, cosmopedia ``classification/``: lr 3e-4, 20 epochs, batch 256, best epoch by macro-F1 of the
rounded clipped predictions, saved with ``save_pretrained``. Because the encoder is frozen, its first-token states
are computed once and only the head (pooler and classifier) is trained on them: the same optimisation, without 20
passes through the encoder. ``curate.classify.train.train_classifier(kind="hf")`` calls :func:`train_hf`.
"""

import numpy as np

from curate.classify.models import (
    length_sorted_batches,
    limit_cpu_threads,
    pad_batch,
    pad_settings,
    resolve_device,
    tokenize_truncated,
)
from curate.classify.report import evaluate


def _hf_head_logits(model, first_token_states):
    """The trainable part of a frozen-encoder classifier applied to precomputed first-token states."""
    states = first_token_states[:, None, :]
    pooler = getattr(model.base_model, "pooler", None)
    if pooler is not None:  # BERT: classifier(dropout(pooler(h[:, 0]))), dropout 0 in this recipe
        return model.classifier(pooler(states))
    return model.classifier(states)  # RoBERTa-style heads read the first token themselves


def train_hf(
    data,
    train_idx,
    valid_idx,
    output,
    base_model,
    max_length,
    seed,
    device,
    max_score,
    *,
    learning_rate,
    epochs,
    batch_size,
):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    device = resolve_device(device)
    if device == "cpu":
        limit_cpu_threads()
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    model = AutoModelForSequenceClassification.from_pretrained(
        base_model, num_labels=1, problem_type="regression", classifier_dropout=0.0, hidden_dropout_prob=0.0
    )
    positions = getattr(model.config, "max_position_embeddings", None) or max_length
    max_length = min(max_length, positions)
    model.to(device).eval()
    _freeze_encoder(model)
    states = _first_token_states(model, tokenizer, data.texts, max_length, batch_size, device, base_model)
    valid_states = states[valid_idx].to(device)
    best_epoch, history = _fit_head(
        model, states[train_idx].to(device), torch.from_numpy(data.scores[train_idx]).to(device), valid_states,
        data.scores[valid_idx], max_score, seed, learning_rate=learning_rate, epochs=epochs, batch_size=batch_size,
    )  # fmt: skip
    with torch.inference_mode():
        valid_predictions = _hf_head_logits(model, valid_states)[:, 0].float().cpu().numpy()
    model.to("cpu")
    for parameter in model.parameters():
        parameter.requires_grad = True
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    return valid_predictions, {"tokens_seen": max_length, "best_epoch": best_epoch, "history": history}


def _freeze_encoder(model) -> None:
    """Only the head (classifier, and BERT's pooler) keeps ``requires_grad``."""
    encoder = model.base_model
    head_parameters = {id(p) for p in model.parameters()} - {id(p) for p in encoder.parameters()}
    if getattr(encoder, "pooler", None) is not None:
        head_parameters |= {id(p) for p in encoder.pooler.parameters()}
    for parameter in model.parameters():
        parameter.requires_grad = id(parameter) in head_parameters


def _first_token_states(model, tokenizer, texts, max_length, batch_size, device, base_model):
    """The frozen encoder's first-token state of every text, computed once (float32, on the CPU).

    Checks on a few texts that the head applied to these states gives the full model's output.
    """
    import torch

    ids = tokenize_truncated(tokenizer, texts, max_length)
    states = torch.zeros(len(ids), model.config.hidden_size, dtype=torch.float32)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda"))
    pad_id, multiple_of = pad_settings(tokenizer, device)

    def padded(rows: list[int]):  # right padding: the head reads position 0
        input_ids, attention_mask = pad_batch([ids[i] for i in rows], pad_id, "right", multiple_of)
        return {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}

    with torch.inference_mode(), autocast:
        for batch in length_sorted_batches([len(x) for x in ids], batch_size):
            states[batch] = model.base_model(**padded(batch)).last_hidden_state[:, 0].float().cpu()
        check = list(range(min(4, len(ids))))
        full = model(**padded(check)).logits[:, 0].float().cpu()
        split = _hf_head_logits(model, states[check].to(device)).float()[:, 0].cpu()
    if not torch.allclose(full, split, atol=5e-2 if device.startswith("cuda") else 1e-4):
        raise ValueError(
            f"{base_model}: its classification head does not read the first token's state the way "
            "the frozen-encoder trainer assumes; use a BERT- or RoBERTa-style model"
        )
    return states


def _fit_head(
    model,
    train_states,
    train_targets,
    valid_states,
    valid_scores,
    max_score,
    seed,
    *,
    learning_rate,
    epochs,
    batch_size,
):
    """Train the head on precomputed states; the model keeps the epoch with the best validation macro-F1."""
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.0)
    steps_per_epoch = -(-len(train_states) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(  # linear decay to zero, as the Trainer default
        optimizer, lambda step: max(0.0, 1 - step / (epochs * steps_per_epoch))
    )
    generator = torch.Generator().manual_seed(seed)
    history = []
    best_f1, best_epoch, best_state = -1.0, 0, None
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(train_states), generator=generator)
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size].to(train_states.device)
            predictions = _hf_head_logits(model, train_states[batch])[:, 0]
            loss = torch.nn.functional.mse_loss(predictions, train_targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        model.eval()
        with torch.inference_mode():
            valid_predictions = _hf_head_logits(model, valid_states)[:, 0].float().cpu().numpy()
        metrics = evaluate(valid_scores, valid_predictions, max_score)
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "valid_macro_f1": metrics["macro_f1"]})
        if metrics["macro_f1"] > best_f1:
            best_f1, best_epoch = metrics["macro_f1"], epoch
            best_state = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    model.load_state_dict(best_state, strict=False)
    model.eval()
    return best_epoch, history
