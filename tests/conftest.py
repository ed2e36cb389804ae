import os
import shutil
import subprocess
from pathlib import Path

import pytest

from curate.assets import shared_data_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party data under ../shared/data (never copied into the project)."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"needs the real test data of ../shared/data, not found at {path} (set CURATE_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def slurm_cluster() -> str:
    """A real single-node Slurm cluster on localhost (started with the project's copy of the script)."""
    assert os.geteuid() == 0, "the local Slurm cluster is started as root"
    proc = subprocess.run(
        ["bash", str(REPO / ".ci/slurm/start-local-slurm.sh")], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shutil.which("sbatch")
    return proc.stdout.strip()
