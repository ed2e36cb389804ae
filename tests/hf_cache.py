"""Stage STAND-IN files under published names in a Hugging Face cache (``HF_HOME``), laid out as huggingface_hub
caches them, so a run with ``HF_HUB_OFFLINE=1`` takes the published-model path without any network.

Nothing staged here is a published file: models are tiny random ones made by the tests (tests/tiny_models.py),
tables are a few rows written by the tests, lid.176.bin is the bundled lid.176.ftz (same model family, smaller).
"""

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.assets import bundled_path

COMMIT = "0123456789abcdef0123456789abcdef01234567"
# where datatrove caches lid.176.bin (DESIGN.md §4): its download URL with "/" as "_", plus a .completed marker
LID176_CACHE = "assets/datatrove/lid/ft176/https:__dl.fbaipublicfiles.com_fasttext_supervised-models_lid.176.bin"


def snapshot(hf_home: Path, repo_id: str, repo_type: str = "model") -> Path:
    """The snapshot folder of ``repo_id`` at the staged commit, with ``refs/main`` pointing at it."""
    repo = hf_home / "hub" / f"{repo_type}s--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    folder = repo / "snapshots" / COMMIT
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stage_model(hf_home: Path, repo_id: str, model_dir: Path) -> Path:
    """Every file of a saved model folder as the cached snapshot of ``repo_id`` (symlinks, as the cache has)."""
    folder = snapshot(hf_home, repo_id)
    for file in model_dir.iterdir():
        if file.is_file() and not (folder / file.name).exists():
            (folder / file.name).symlink_to(file.resolve())
    return folder


def stage_file(hf_home: Path, repo_id: str, path_in_repo: str, source: Path) -> Path:
    target = snapshot(hf_home, repo_id) / path_in_repo
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def stage_dataset_rows(hf_home: Path, repo_id: str, path_in_repo: str, rows: list[dict]) -> Path:
    """A Parquet file of ``rows`` at ``path_in_repo`` of the dataset ``repo_id``."""
    target = snapshot(hf_home, repo_id, "dataset") / path_in_repo
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), target)
    return target


def stage_lid176(hf_home: Path) -> Path:
    """The bundled lid.176.ftz where datatrove caches the published lid.176.bin."""
    target = hf_home / LID176_CACHE
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundled_path("lid.176.ftz"), target)
    target.with_name(target.name + ".completed").touch()
    return target
