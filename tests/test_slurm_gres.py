"""The test cluster's GPUs as Slurm sees them: two placeholder GPUs declared as gres (DESIGN.md §4).

The machine has no GPU; /dev/fakegpu0 and /dev/fakegpu1 are STAND-IN device files (made by start-local-slurm.sh
with mknod). What is real is Slurm's allocation of them: which job gets which GPU and the CUDA_VISIBLE_DEVICES
it sets.
"""

import subprocess

import pytest

pytestmark = pytest.mark.slurm


# the job's GPU and when it held it (seconds since the epoch)
WRAP = 'echo "CVD=${CUDA_VISIBLE_DEVICES-none} $(date +%s.%N)"; sleep 3; date +%s.%N'


def job_output(path) -> tuple[str, float, float]:
    first, end = path.read_text().split("\n")[:2]
    visible, start = first.split()
    return visible, float(start), float(end)


def sbatch(tmp_path, name: str, *args: str) -> str:
    out = tmp_path / f"{name}-%a.out" if "--array=0-1" in args else tmp_path / f"{name}.out"
    proc = subprocess.run(
        ["sbatch", "--parsable", "-W", "-o", str(out), *args, "--wrap", WRAP],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().split(";")[0]


def test_node_declares_two_gpus(slurm_cluster):
    assert "gpus=2" in slurm_cluster
    node = subprocess.run(["scontrol", "show", "node", "localhost"], capture_output=True, text=True).stdout
    assert "Gres=gpu:2" in node


def test_two_concurrent_gpu_tasks_get_gpus_0_and_1_and_a_cpu_job_none(slurm_cluster, tmp_path):
    # datatrove's SlurmPipelineExecutor asks --gpus=<gpus_per_task> for each task of its job array
    sbatch(tmp_path, "gpu", "--array=0-1", "--gpus=1", "--cpus-per-task=1")
    sbatch(tmp_path, "cpu", "--cpus-per-task=1")
    (gpu_a, start_a, end_a), (gpu_b, start_b, end_b) = (job_output(tmp_path / f"gpu-{i}.out") for i in (0, 1))
    assert {gpu_a, gpu_b} <= {"CVD=0", "CVD=1"}
    if start_a < end_b and start_b < end_a:  # they ran at once (unless other users' jobs held a CPU)
        assert gpu_a != gpu_b
    assert job_output(tmp_path / "cpu.out")[0] == "CVD=none"
