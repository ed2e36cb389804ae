"""Dataset card (``README.md``) for a curate recipe output: Hub configs, schema, parameters, funnel, histograms.

Everything in the card is read from the output folder: ``data/<config>/*.parquet`` (configs, schema, row
counts, score histograms), ``run.json`` (recipe, parameters, versions, stage order) and ``stats/<stage>.json``
(datatrove's merged ``PipelineStats``: the funnel). ``build_card`` writes ``README.md`` and ``figures/*.png``
into the folder, so the card can be reviewed before anything is pushed.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml
from datatrove.utils.logging import logger

SCORE_COLUMNS = ("score", "int_score")
FIGURES_DIR = "figures"

# (recipe name fragment, license, pretty name, language, sources of its numbers)
_RECIPES = [
    (
        "fineweb_edu",
        "odc-by",
        "FineWeb-Edu (curate rebuild)",
        "en",
        [
            "FineWeb paper, Penedo et al. 2024, arXiv:2406.17557 (pipeline, filters, §4 educational classifier)",
            "datatrove `examples/fineweb.py` (filter thresholds, MinHash settings)",
            "model card HuggingFaceFW/fineweb-edu-classifier (threshold int_score >= 3, F1 0.82)",
            "SmolLM2 paper, Ben Allal et al. 2025, arXiv:2502.02737 (§4: FineWeb-Edu in the SmolLM2 stage mixtures)",
        ],
    ),
    (
        "finemath",
        "odc-by",
        "FineMath (curate rebuild)",
        "en",
        [
            "SmolLM2 paper, Ben Allal et al. 2025, arXiv:2502.02737 (§3.3 and App. C: FineMath pipeline)",
            "model card HuggingFaceTB/finemath-classifier (3+ and 4+ thresholds)",
            "dataset card HuggingFaceTB/finemath (configs finemath-3plus, finemath-4plus)",
            "FineWeb paper, arXiv:2406.17557 (the LLM-annotation + classifier approach FineMath reuses)",
        ],
    ),
    (
        "stack_edu",
        "other",
        "Stack-Edu (curate rebuild)",
        "code",
        [
            "SmolLM2 paper, Ben Allal et al. 2025, arXiv:2502.02737 (§3.4 and App. D: Stack-Edu)",
            "model cards HuggingFaceTB/stack-edu-classifier-<language> (threshold 3, Java 2)",
            "dataset card HuggingFaceTB/stack-edu (one config per language; The Stack v2 terms of use apply)",
            "FineWeb paper, arXiv:2406.17557 (the LLM-annotation + classifier approach Stack-Edu reuses)",
        ],
    ),
]
_GENERIC_SOURCES = [
    "FineWeb paper, arXiv:2406.17557",
    "SmolLM2 paper, arXiv:2502.02737",
]


@dataclass
class FunnelRow:
    """Documents and tokens around one pipeline step, from the merged datatrove stats."""

    stage: str
    step: str
    docs_in: int | None
    docs_out: int | None
    dropped: int | None
    tokens: int | None
    reasons: dict[str, int]


def _total(value) -> int | None:
    """A datatrove metric as saved by ``MetricStats.to_dict``: a bare number, or a dict with ``total``."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("total")
    return None if value is None else int(value)


def read_funnel(output_dir: Path) -> list[FunnelRow]:
    """One row per step of every stage, in the stage order of ``run.json`` (file order when it lacks one)."""
    output_dir = Path(output_dir)
    stats_dir = output_dir / "stats"
    if not stats_dir.is_dir():
        return []
    run = _read_run(output_dir)
    known = {p.stem: p for p in sorted(stats_dir.glob("*.json"))}
    order = [s for s in run.get("stages", []) if s in known] + [s for s in known if s not in run.get("stages", [])]
    rows = []
    for stage in order:
        try:
            steps = json.loads(known[stage].read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{known[stage]} is not valid JSON: {error}") from error
        for step in steps:
            stats = step.get("stats", {})
            is_filter = "forwarded" in stats or "dropped" in stats
            docs_out = _total(stats.get("forwarded")) if is_filter else None
            if docs_out is None and not is_filter:
                docs_out = _total(stats.get("documents"))
            if docs_out is None and not is_filter:
                docs_out = _total(stats.get("total"))  # writers count what they wrote as "total"
            tokens = _total(stats.get("doc_len_tokens"))
            if tokens is None:
                tokens = _total(stats.get("tokens"))
            reasons = {
                key.removeprefix("dropped_"): _total(value)
                for key, value in stats.items()
                if key.startswith("dropped_") and _total(value)
            }
            rows.append(
                FunnelRow(
                    stage=stage,
                    step=step.get("name", "?"),
                    docs_in=_total(stats.get("total")) if is_filter else None,
                    docs_out=docs_out,
                    dropped=_total(stats.get("dropped")) if is_filter else None,
                    tokens=tokens,
                    reasons=reasons,
                )
            )
    return rows


def _read_run(output_dir: Path) -> dict:
    path = Path(output_dir) / "run.json"
    if not path.exists():
        logger.warning(f"{path} is missing: the card will have no parameters or versions")
        return {}
    return json.loads(path.read_text())


def find_configs(output_dir: Path) -> dict[str, list[Path]]:
    """``data/<config>/`` folders that hold Parquet files, with their files."""
    data_dir = Path(output_dir) / "data"
    configs = {}
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()) if data_dir.is_dir() else []:
        files = sorted(folder.glob("*.parquet"))
        nested = [p for p in folder.rglob("*.parquet") if p.parent != folder]
        if nested:
            raise ValueError(
                f"{folder} has Parquet files in sub-folders ({nested[0]}); expected data/<config>/*.parquet"
            )
        if files:
            configs[folder.name] = files
    return configs


def _recipe_facts(recipe: str) -> tuple[str, str, str, list[str]]:
    for fragment, license_id, pretty, language, sources in _RECIPES:
        if fragment in recipe.lower().replace("-", "_"):
            return license_id, pretty, language, sources
    return "other", f"{recipe} (curate)", "en", _GENERIC_SOURCES


def card_metadata(
    configs: dict[str, list[Path]], license_id: str, pretty_name: str, language: str, tags: list[str]
) -> dict:
    """The YAML front matter: one Hub config per ``data/<config>`` plus ``default`` over all of them."""
    entries = []
    if "default" not in configs:
        entries.append({"config_name": "default", "data_files": [{"split": "train", "path": "data/*/*.parquet"}]})
    for name in configs:
        entries.append({"config_name": name, "data_files": [{"split": "train", "path": f"data/{name}/*.parquet"}]})
    return {
        "license": license_id,
        "pretty_name": pretty_name,
        "language": [language],
        "task_categories": ["text-generation"],
        "tags": tags,
        "configs": entries,
    }


def _schema_table(files: list[Path]) -> str:
    schema = pq.read_schema(files[0])
    lines = ["| column | type |", "|---|---|"]
    lines += [f"| `{field.name}` | `{field.type}` |" for field in schema]
    return "\n".join(lines)


def _rows(files: list[Path]) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _column_values(files: list[Path], column: str) -> np.ndarray:
    parts = []
    for path in files:
        parquet = pq.ParquetFile(path)
        if column in parquet.schema_arrow.names:
            parts.append(parquet.read(columns=[column]).column(column).to_numpy(zero_copy_only=False))
    values = np.concatenate(parts).astype(float) if parts else np.array([], dtype=float)
    return values[~np.isnan(values)]


def score_histograms(configs: dict[str, list[Path]], output_dir: Path) -> dict[str, dict]:
    """Write ``figures/<column>_histogram.png`` for ``score``/``int_score`` columns; return the counts per bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_files = [f for files in configs.values() for f in files]
    results = {}
    for column in SCORE_COLUMNS:
        values = _column_values(all_files, column)
        if values.size == 0:
            continue
        if column == "int_score":
            edges = np.arange(np.floor(values.min()), np.ceil(values.max()) + 2) - 0.5
        else:
            low = np.floor(values.min())
            edges = np.linspace(low, max(np.ceil(values.max()), low + 1), 26)
        counts, edges = np.histogram(values, bins=edges)
        figure, axis = plt.subplots(figsize=(6, 3.5))
        axis.bar(edges[:-1], counts, width=np.diff(edges), align="edge", edgecolor="black")
        axis.set_xlabel(column)
        axis.set_ylabel("documents")
        axis.set_title(f"{column} over all configs ({values.size:,} documents)")
        figure.tight_layout()
        target = Path(output_dir) / FIGURES_DIR / f"{column}_histogram.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target, dpi=100)
        plt.close(figure)
        results[column] = {"edges": edges.tolist(), "counts": counts.tolist(), "figure": target}
    return results


def _fmt(number: int | None) -> str:
    return "–" if number is None else f"{number:,}"


def funnel_table(rows: list[FunnelRow]) -> str:
    lines = [
        "| stage | step | documents in | documents out | dropped | tokens | top reasons |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        reasons = ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(row.reasons.items(), key=lambda kv: -kv[1])[:3])
        lines.append(
            f"| {row.stage} | {row.step} | {_fmt(row.docs_in)} | {_fmt(row.docs_out)} | {_fmt(row.dropped)} "
            f"| {_fmt(row.tokens)} | {reasons} |"
        )
    return "\n".join(lines)


def build_card(
    output_dir: str | Path,
    *,
    license_id: str | None = None,
    pretty_name: str | None = None,
    tags: list[str] | None = None,
) -> str:
    """Write ``README.md`` (and the histogram figures) into a recipe output folder and return the card text.

    Args:
        output_dir: the recipe output folder (``data/``, ``stats/``, ``run.json``)
        license_id: Hub license id (default: the published dataset's license for known recipes, else "other")
        pretty_name: display name (default: from the recipe)
        tags: extra Hub tags, added to ``curate`` and ``datatrove``
    """
    output_dir = Path(output_dir)
    configs = find_configs(output_dir)
    if not configs:
        raise FileNotFoundError(f"{output_dir / 'data'} has no <config>/*.parquet: nothing to describe")
    run = _read_run(output_dir)
    recipe = run.get("recipe", output_dir.name)
    default_license, default_name, language, sources = _recipe_facts(recipe)
    metadata = card_metadata(
        configs,
        license_id or default_license,
        pretty_name or default_name,
        language,
        ["curate", "datatrove", *(tags or [])],
    )
    funnel = read_funnel(output_dir)
    histograms = score_histograms(configs, output_dir)

    parts = [
        "---",
        yaml.safe_dump(metadata, sort_keys=False).rstrip(),
        "---",
        "",
        f"# {metadata['pretty_name']}",
        "",
        f"Built with curate from the `{recipe}` recipe on datatrove "
        f"{run.get('versions', {}).get('datatrove', '?')}. Each config is a `data/<config>` folder; "
        "`default` covers all of them.",
        "",
        "## Configs",
        "",
        "| config | files | rows |",
        "|---|---:|---:|",
        *[f"| `{name}` | {len(files)} | {_rows(files):,} |" for name, files in configs.items()],
        "",
        'Load one: `datasets.load_dataset(<repo>, name=<config>, split="train")`.',
        "",
        "## Schema",
        "",
    ]
    schemas = {name: pq.read_schema(files[0]) for name, files in configs.items()}
    first_name = next(iter(configs))
    if all(schema.equals(schemas[first_name]) for schema in schemas.values()):
        parts.append(_schema_table(configs[first_name]))
    else:
        for name, files in configs.items():
            parts += [f"### `{name}`", "", _schema_table(files), ""]
    parts += ["", "## Funnel", ""]
    if funnel:
        parts += [
            "Documents and tokens per step (from datatrove's merged stats in `stats/`). Tokens are counted where "
            "documents carry `token_count` metadata; steps without a count show –.",
            "",
            funnel_table(funnel),
        ]
    else:
        parts.append("No `stats/*.json` in this output.")
    if histograms:
        parts += ["", "## Scores", ""]
        for column, histogram in histograms.items():
            parts.append(f"![{column} histogram]({FIGURES_DIR}/{histogram['figure'].name})")
            parts.append("")
        if "int_score" in histograms:
            hist = histograms["int_score"]
            centers = [int(round(e + 0.5)) for e in hist["edges"][:-1]]
            parts += ["| int_score | documents |", "|---:|---:|"]
            parts += [f"| {c} | {n:,} |" for c, n in zip(centers, hist["counts"], strict=True)]
    parts += [
        "",
        "## Recipe parameters",
        "",
        "```yaml",
        yaml.safe_dump(run.get("params", {}), sort_keys=False).rstrip() or "{}",
        "```",
        "",
        "Versions: " + (", ".join(f"{k} {v}" for k, v in run.get("versions", {}).items()) or "not recorded"),
        "",
        "Stages: " + (" → ".join(run.get("stages", [])) or "not recorded"),
        "",
        "## Sources of the recipe numbers",
        "",
        *[f"- {source}" for source in sources],
        "",
    ]
    card = "\n".join(parts)
    (output_dir / "README.md").write_text(card)
    return card
