"""One run per output folder (src/curate/lock.py): a second run into a folder in use refuses in one line naming the
other run; a dead run's lock is taken over with a warning, and the rerun resumes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from curate.executors import wait_for_slurm_jobs
from curate.lock import LOCK_NAME, OutputInUseError, RunLock


def curate_run(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "curate.run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        **kwargs,
    )


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_two_identical_runs_started_together_one_refuses_naming_the_other(tmp_path):
    out = str(tmp_path / "out")
    runs = [curate_run("stack_edu", "--output", out, "--tasks", "1") for _ in range(2)]
    results = [(proc, *proc.communicate(timeout=1800)) for proc in runs]
    refused = [err for proc, _, err in results if proc.returncode == 2]
    finished = [(proc, stdout) for proc, stdout, _ in results if proc.returncode == 0]
    assert len(refused) == 1 and len(finished) == 1, [(p.returncode, e[-1500:]) for p, _, e in results]
    (err,), ((winner, stdout),) = refused, finished
    assert err.count("\n") == 1 and err.startswith(f"error: {out} is in use by another run (host ")
    assert f"host {socket.gethostname()}, pid {winner.pid}," in err
    assert f"output: {out}/data" in stdout and list((tmp_path / "out" / "data").rglob("*.parquet"))
    assert not (tmp_path / "out" / LOCK_NAME).exists()  # released at the end


def test_a_killed_run_is_taken_over_with_a_warning_and_resumed(tmp_path):
    out = tmp_path / "out"
    settings = ["--output", str(out), "--tasks", "2", "--workers", "1"]  # killed after task 0, before task 1
    first = curate_run("stack_edu", *settings, start_new_session=True)
    deadline = time.monotonic() + 600
    while not list((out / "logs").glob("*/completions/*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.poll() is None, "the run ended before it could be killed"
    os.killpg(first.pid, signal.SIGKILL)  # the run and its task processes, as kill -9 of a job would
    first.wait()
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == first.pid
    rerun = curate_run("stack_edu", *settings)
    stdout, stderr = rerun.communicate(timeout=1800)
    assert rerun.returncode == 0, stderr[-2000:]
    assert (
        f"warning: taking over {out / LOCK_NAME} from a run that ended (host {socket.gethostname()}, pid {first.pid}"
        in stderr
    )
    assert f"output: {out}/data" in stdout and not (out / LOCK_NAME).exists()


def test_lock_holders_that_may_live_refuse_and_dead_ones_are_replaced(tmp_path):
    lock_file = tmp_path / LOCK_NAME
    warnings = []
    for holder, refused in [
        ({"host": socket.gethostname(), "pid": os.getppid()}, True),  # alive on this host
        ({"host": "other-node", "pid": dead_pid()}, True),  # another host: cannot be checked
        ({"host": socket.gethostname(), "pid": dead_pid()}, False),  # a killed run
    ]:
        lock_file.write_text(json.dumps(holder))
        lock = RunLock(str(tmp_path), warn=warnings.append)
        if refused:
            with pytest.raises(OutputInUseError, match=f"host {holder['host']}, pid {holder['pid']}"):
                lock.acquire()
        else:
            with lock:
                assert json.loads(lock_file.read_text())["pid"] == os.getpid()
            assert not lock_file.exists()
    assert len(warnings) == 1 and "from a run that ended" in warnings[0]


def test_slurm_jobs_hold_the_folder_after_submission(tmp_path):
    with RunLock(str(tmp_path)) as lock:
        lock.hand_to_slurm(["123", "124"])
    assert json.loads((tmp_path / LOCK_NAME).read_text())["slurm_jobs"] == ["123", "124"]  # kept for the jobs


@pytest.mark.slurm
def test_a_folder_held_by_queued_slurm_jobs_refuses_until_they_leave_the_queue(slurm_cluster, tmp_path):
    job = subprocess.run(
        ["sbatch", "--parsable", "-o", "/dev/null", "--wrap", "sleep 300"], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        (tmp_path / LOCK_NAME).write_text(json.dumps({"host": "login-node", "pid": 1, "slurm_jobs": [job]}))
        with pytest.raises(OutputInUseError, match=f"Slurm jobs {job} \\(submitted from login-node\\)"):
            RunLock(str(tmp_path)).acquire()
    finally:
        subprocess.run(["scancel", job], check=True)
    wait_for_slurm_jobs([job], poll_seconds=0.5)
    warnings = []
    with RunLock(str(tmp_path), warn=warnings.append):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert warnings == [
        f"warning: taking over {tmp_path / LOCK_NAME} from a run that ended (Slurm jobs {job} "
        "(submitted from login-node))"
    ]
