"""Evaluation of a score classifier on held-out annotations: metrics, a JSON + Markdown report, a confusion plot."""

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, mean_squared_error, precision_recall_fscore_support

from curate.classify.scores import int_scores

BINARY_THRESHOLDS = (2, 3)


def evaluate(true_scores: np.ndarray, predicted_scores: np.ndarray, max_score: int = 5) -> dict:
    """Metrics on rounded, clipped scores (the published classifier's way of comparing them).

    ``macro_f1`` averages over the classes present in truth or prediction (scikit-learn's default, as in the
    reference training script); ``binary_f1[t]`` treats ``score >= t`` as the positive class.
    """
    true_scores = np.asarray(true_scores, dtype=np.float64)
    predicted_scores = np.asarray(predicted_scores, dtype=np.float64)
    y_true = int_scores(true_scores, max_score)
    y_pred = int_scores(predicted_scores, max_score)
    classes = list(range(max_score + 1))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    return {
        "n": int(len(y_true)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "accuracy": float(np.mean(y_true == y_pred)) if len(y_true) else 0.0,
        "mse": float(mean_squared_error(true_scores, predicted_scores)) if len(y_true) else 0.0,
        "binary_f1": {str(t): float(f1_score(y_true >= t, y_pred >= t, zero_division=0)) for t in BINARY_THRESHOLDS},
        "per_class": {
            str(c): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
        "labels": classes,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
    }


def write_report(folder: str | Path, report: dict, valid_ids: list[str] | None = None) -> None:
    """Write ``report.json``, ``report.md``, ``confusion.png`` (and ``valid_ids.txt``) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (folder / "report.md").write_text(markdown_report(report))
    plot_confusion(report["valid"], folder / "confusion.png")
    if valid_ids is not None:
        (folder / "valid_ids.txt").write_text("".join(f"{row_id}\n" for row_id in valid_ids))


def markdown_report(report: dict) -> str:
    """A human-readable summary of ``report`` (validation metrics, per-class table, confusion matrix)."""
    valid = report["valid"]
    lines = [
        f"# Evaluation: {report['kind']} on {report['base_model'] or 'raw text'}",
        "",
        f"- rows read: {report['rows_read']}, skipped: {report['skipped']}",
        f"- train: {report['n_train']}, held-out validation: {report['n_valid']} (stratified on the rounded score)",
        f"- configuration: {json.dumps(report['config'])}",
        f"- tokens of each text the model sees: {report.get('tokens_seen')}",
    ]
    if "best_epoch" in report:
        lines.append(f"- best epoch by validation macro-F1: {report['best_epoch']}")
    lines += [
        "",
        "## Held-out validation",
        "",
        "Scores are rounded and clipped to the label scale before comparison.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| macro-F1 | {valid['macro_f1']:.3f} |",
        *(f"| binary F1 (score >= {t}) | {f1:.3f} |" for t, f1 in valid["binary_f1"].items()),
        f"| accuracy | {valid['accuracy']:.3f} |",
        f"| MSE (raw scores) | {valid['mse']:.3f} |",
        "",
        "| class | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
        *(
            f"| {c} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
            for c, m in valid["per_class"].items()
        ),
        "",
        "Confusion matrix (rows: annotation, columns: prediction):",
        "",
        "| | " + " | ".join(str(c) for c in valid["labels"]) + " |",
        "|---" * (len(valid["labels"]) + 1) + "|",
        *(
            f"| **{c}** | " + " | ".join(str(v) for v in row) + " |"
            for c, row in zip(valid["labels"], valid["confusion_matrix"], strict=True)
        ),
        "",
    ]
    if "cross_validation" in report:
        cv = report["cross_validation"]
        lines += [
            f"## {cv['folds']}-fold cross-validation (out-of-fold predictions for all {cv['n']} rows)",
            "",
            "| metric | value |",
            "|---|---|",
            f"| macro-F1 | {cv['macro_f1']:.3f} |",
            *(f"| binary F1 (score >= {t}) | {f1:.3f} |" for t, f1 in cv["binary_f1"].items()),
            f"| accuracy | {cv['accuracy']:.3f} |",
            f"| MSE (raw scores) | {cv['mse']:.3f} |",
            "",
        ]
    return "\n".join(lines)


def plot_confusion(metrics: dict, path: Path) -> None:
    """Save the confusion matrix as a PNG (headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(metrics["confusion_matrix"])
    figure, axes = plt.subplots(figsize=(4.5, 4))
    axes.imshow(matrix, cmap="Blues")
    for (row, column), value in np.ndenumerate(matrix):
        colour = "white" if value > matrix.max() / 2 else "black"
        axes.text(column, row, str(value), ha="center", va="center", color=colour, fontsize=8)
    axes.set_xticks(range(len(metrics["labels"])), metrics["labels"])
    axes.set_yticks(range(len(metrics["labels"])), metrics["labels"])
    axes.set_xlabel("predicted int_score")
    axes.set_ylabel("annotated score (rounded)")
    axes.set_title(f"held-out n={metrics['n']}, macro-F1 {metrics['macro_f1']:.2f}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
