"""Dataset card (``README.md``) for a curate recipe output: Hub configs, schema, parameters, funnel, histograms.

Everything in the card is read from the output folder: ``data/<config>/*.parquet`` (configs, schema, row
counts), ``run.json`` (recipe, parameters, versions, stage order) and ``stats/<stage>.json`` (datatrove's merged
``PipelineStats``: the funnel of ``curate.funnel`` and the scorers' histograms). ``build_card`` writes
``README.md`` and ``figures/*.png`` into the folder, so the card can be reviewed before anything is pushed.
"""

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from datatrove.utils.logging import logger

from curate.funnel import FunnelRow, read_funnel, top_reasons

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


def score_histograms(rows: list[FunnelRow], output_dir: Path) -> list[dict]:
    """One bar chart per scorer of the run, from its rounded-score counts in the stats (no score is read back).

    Each is written to ``figures/<int_score_key>_histogram.png`` (``<stage>_<key>_histogram.png`` when two
    scorers use the same key) and returned with its stage, step, key and counts.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scorers = [row for row in rows if row.score_counts]
    keys = Counter(row.score_key for row in scorers)
    results = []
    for row in scorers:
        key = row.score_key or "int_score"
        name = f"{key}_histogram.png" if keys[row.score_key] == 1 else f"{row.stage}_{key}_histogram.png"
        scores, counts = list(row.score_counts), list(row.score_counts.values())
        figure, axis = plt.subplots(figsize=(6, 3.5))
        axis.bar(scores, counts, width=0.9, edgecolor="black")
        axis.set_xticks(scores)
        axis.set_xlabel(key)
        axis.set_ylabel("documents")
        axis.set_title(f"{key}, stage {row.stage} ({sum(counts):,} documents scored)")
        figure.tight_layout()
        target = Path(output_dir) / FIGURES_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target, dpi=100)
        plt.close(figure)
        results.append({"row": row, "key": key, "figure": target})
    return results


def _fmt(number: int | None) -> str:
    return "–" if number is None else f"{number:,}"


def funnel_table(rows: list[FunnelRow]) -> str:
    lines = [
        "| stage | step | documents in | documents out | dropped | tokens | top reasons |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        reasons = ", ".join(f"{k} {_fmt(v)}" for k, v in top_reasons(row))
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
    histograms = score_histograms(funnel, output_dir)

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
        parts += [
            "Rounded scores of every document each scorer saw, before any threshold (from its counts in `stats/`).",
            "",
        ]
        for histogram in histograms:
            row, key = histogram["row"], histogram["key"]
            parts += [f"![{key} histogram]({FIGURES_DIR}/{histogram['figure'].name})", ""]
            parts += [f"| {key} ({row.stage}) | documents |", "|---:|---:|"]
            parts += [f"| {score} | {count:,} |" for score, count in row.score_counts.items()]
            parts.append("")
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
