"""One run per output folder: ``<output>/.curate-run.lock`` names the run that uses it.

A second run into the same folder refuses while the holder lives. A holder is alive while its process runs on the
same host, or while any of its Slurm jobs is queued or running; a dead holder's lock (killed run, finished jobs) is
taken over with a warning, so a rerun resumes as before. A lock from another host cannot be checked and refuses.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

LOCK_NAME = ".curate-run.lock"


class OutputInUseError(RuntimeError):
    """Another live run holds the output folder; the message names it."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _slurm_jobs_alive(job_ids: list[str]) -> bool:
    try:
        out = subprocess.run(["squeue", "-h", "-o", "%i", "-j", ",".join(job_ids)], capture_output=True, text=True)
    except FileNotFoundError:  # no Slurm client here: cannot tell, so treat them as alive
        return True
    return bool(out.stdout.strip())


def describe_holder(holder: dict) -> str:
    if holder.get("slurm_jobs"):
        return f"Slurm jobs {', '.join(holder['slurm_jobs'])} (submitted from {holder['host']})"
    return f"host {holder.get('host')}, pid {holder.get('pid')}, started {holder.get('started')}"


def holder_alive(holder: dict) -> bool:
    """Whether the run that wrote ``holder`` may still be using the folder."""
    if holder.get("slurm_jobs"):
        return _slurm_jobs_alive(holder["slurm_jobs"])
    if holder.get("host") != socket.gethostname():
        return True
    return _alive(int(holder.get("pid", -1)))


class RunLock:
    """``with RunLock(output):`` holds the folder for this process; ``hand_to_slurm(ids)`` passes it to jobs."""

    def __init__(self, output: str, warn=None):
        self.path = Path(output.removeprefix("file://")) / LOCK_NAME
        self.warn = warn or (lambda message: print(message, file=sys.stderr))
        self.record = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.release_on_exit = True

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump(self.record, f)
        return True

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # a lock removed or replaced between two looks: look again
            if self._create():
                return
            try:
                holder = json.loads(self.path.read_text() or "{}")
            except FileNotFoundError:
                continue
            except json.JSONDecodeError:  # being written this instant by a run that just won the race
                holder = {"host": "?", "pid": "?", "started": "now"}
            if holder_alive(holder):
                raise OutputInUseError(
                    f"{self.path.parent} is in use by another run ({describe_holder(holder)}); wait for it to end, "
                    f"or if it is gone, delete {self.path}"
                )
            self.warn(f"warning: taking over {self.path} from a run that ended ({describe_holder(holder)})")
            self.path.unlink(missing_ok=True)
        raise OutputInUseError(f"could not lock {self.path}: other runs keep taking it")

    def hand_to_slurm(self, job_ids: list[str]) -> None:
        """The submitted jobs hold the folder from now on; this process leaves the lock in place."""
        self.record["slurm_jobs"] = job_ids
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.record))
        tmp.replace(self.path)
        self.release_on_exit = False

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        if self.release_on_exit:
            self.path.unlink(missing_ok=True)
