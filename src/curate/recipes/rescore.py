"""The ``score`` stage every recipe ends with, and dataset input: an existing dataset rescored by that stage alone.

FineWeb-Edu was made by scoring the already-built FineWeb on GPUs (smollm's ``run_edu_bert.py``: one-GPU Slurm
tasks, FineWeb in, FineWeb-Edu out). So scoring (score -> threshold -> write) is a stage of its own, after the CPU
stages, and can get its own executor settings (``stages.score.<executor>.<key>``). When ``input`` is a dataset
(Parquet or JSON Lines files), the recipe runs that stage only, over the dataset's rows, keeping every column.
"""

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers import JsonlWriter

from curate.blocks.datasets import DATASET_SUFFIXES, DatasetReader, source_schema
from curate.blocks.intermediate import StageOutputReader
from curate.blocks.writers import SCORE_COLUMNS
from curate.config import DEMO_INPUT, ConfigError, RecipeConfig
from curate.inputs import locate
from curate.recipes import RunPaths, Stage, step

SCORE_STAGE = "score"
INPUT_FORMATS = ("auto", "warc", "dataset")
_WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")


@dataclass(frozen=True)
class DatasetSource:
    """An existing dataset to rescore: where its files are and the name of one of them (its columns are read)."""

    data_folder: str
    glob_pattern: str | None
    first_file: str


def dataset_input(cfg: RecipeConfig) -> DatasetSource | None:
    """The dataset ``input`` names, or None when the recipe reads WARCs. ``input_format: auto`` tells them apart by
    the files' names (Parquet/JSON Lines, no WARC); ``dataset`` and ``warc`` say it outright."""
    fmt = cfg.get("input_format", "auto")
    if fmt not in INPUT_FORMATS:
        raise ConfigError(f"bad value {fmt!r} for 'input_format': expected {', '.join(INPUT_FORMATS)}")
    spec = cfg["input"]
    if fmt == "warc" or spec == DEMO_INPUT or str(spec).upper().startswith("CC-MAIN"):
        return None
    folder, glob_pattern = locate(spec)
    if "://" not in folder and not Path(folder).is_dir():
        return None  # not there: the WARC reader's check says so in its words
    files = get_datafolder(folder).list_files(recursive=True, glob_pattern=glob_pattern)
    data_files = [name for name in files if name.endswith(DATASET_SUFFIXES)]
    if fmt == "auto" and (not data_files or any(name.endswith(_WARC_SUFFIXES) for name in files)):
        return None
    if not data_files:
        raise ConfigError(f"input_format is dataset, but {spec!r} holds no {', '.join(DATASET_SUFFIXES)} files")
    return DatasetSource(folder, glob_pattern, data_files[0])


def dataset_reader(
    cfg: RecipeConfig, source: DatasetSource, text_key: str = "text", id_key: str = "id", dump_key: str | None = None
) -> PipelineStep:
    """The reader of the dataset's rows; ``dump_key`` (the column the output folders are named by) must be there,
    unless the ``dump`` setting gives it."""
    required = [text_key]
    default_metadata = None
    if dump_key:
        if cfg["dump"]:
            default_metadata = {dump_key: cfg["dump"]}
        else:
            required.append(dump_key)
    return step(
        DatasetReader,
        data_folder=source.data_folder,
        glob_pattern=source.glob_pattern,
        text_key=text_key,
        id_key=id_key,
        required_columns=required,
        default_metadata=default_metadata,
    )


def dataset_columns(source: DatasetSource, text_key: str = "text", id_key: str = "id") -> dict[str, pa.DataType]:
    """Every column of the dataset, in its order, then the score columns (a source's own scores are replaced)."""
    schema = source_schema(source.data_folder, source.first_file)
    columns = {field.name: field.type for field in schema}
    columns.setdefault(text_key, pa.string())
    columns.setdefault(id_key, pa.string())
    return {name: kind for name, kind in columns.items() if name not in SCORE_COLUMNS} | SCORE_COLUMNS


def selected_writer(paths: RunPaths) -> PipelineStep:
    """The last step of the CPU stages: the documents the score stage reads."""
    return step(JsonlWriter, output_folder=f"{paths.work}/selected")


def score_stage(cfg: RecipeConfig, paths: RunPaths, scoring: list[PipelineStep], source=None) -> Stage:
    """Stage ``score``: ``source`` (default: what the CPU stages selected) -> score -> threshold -> write."""
    reader = source or step(StageOutputReader, data_folder=f"{paths.work}/selected")
    return Stage(SCORE_STAGE, [reader, *scoring], cfg["tasks"], cfg["workers"])
