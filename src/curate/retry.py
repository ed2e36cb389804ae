"""The one retry policy of every remote call curate makes: the Hub, Software Heritage and the LLM server.

Retries run on tenacity: exponential backoff (the first wait doubled after each failure, capped), or the
server's ``Retry-After`` when it sends one, for at most ``attempts`` tries. What each remote gets is set here:

- ``HUB``: Hub calls of ``curate.publish`` (repo, branch, listing, each commit batch).
- ``SOFTWARE_HERITAGE``: reads of Software Heritage blobs (``SoftwareHeritageContentFetcher``); a task reads
  millions of them, so a failing blob costs seconds, not minutes.
- ``LLM_SERVER``: the OpenAI-compatible annotation server; the ``openai`` client retries itself, so it is
  configured from this policy (``max_retries``) rather than wrapped.

Which errors are worth a retry is decided here too: :func:`transient_hub_error`, :func:`transient_read_error`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx2
import tenacity
from huggingface_hub.errors import HfHubHTTPError

T = TypeVar("T")

# rate limits, timeouts, commit conflicts (409, and 412 when the branch moved under a commit) and server errors
HUB_RETRY_STATUSES = (408, 409, 412, 429, 500, 502, 503, 504)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a failed call is tried again."""

    attempts: int = 8
    """tries in all, the first one included"""
    first_wait_s: float = 2.0
    """wait before the second try; doubled after each failure"""
    max_wait_s: float = 300.0
    """longest wait between two tries, also for a server's Retry-After"""
    retry_statuses: tuple[int, ...] = HUB_RETRY_STATUSES
    """HTTP statuses worth another try"""
    sleep: Callable[[float], None] | None = field(default=None, repr=False, compare=False)
    """how to wait (None: ``time.sleep``; tests pass a recorder)"""

    def backoff_s(self, failures: int) -> float:
        """The wait after ``failures`` failed tries."""
        return min(self.max_wait_s, self.first_wait_s * 2 ** (failures - 1))


HUB = RetryPolicy()
SOFTWARE_HERITAGE = RetryPolicy(attempts=4, first_wait_s=1.0, max_wait_s=30.0)
# The openai client applies this policy with its built-in retries: connection errors, timeouts and these statuses
# are retried, the wait doubles from the first to the cap (less up to 25 % jitter) and a server's Retry-After (up to
# 2 minutes) wins. Only the number of tries is the client's to set: the statuses and waits are its own, stated here.
LLM_SERVER = RetryPolicy(
    attempts=6, first_wait_s=0.5, max_wait_s=8.0, retry_statuses=(408, 409, 429, *range(500, 600))
)


def http_status(error: BaseException) -> int | None:
    """The HTTP status of a Hub error (or of the error it was raised from), None for anything else."""
    for current in _chain(error):
        if isinstance(current, HfHubHTTPError) and current.response is not None:
            return current.response.status_code
    return None


def is_connection_error(error: BaseException) -> bool:
    """True when the request never got an answer: no network, refused, reset, timed out."""
    return any(isinstance(current, httpx2.TransportError) for current in _chain(error))


def transient_hub_error(error: BaseException, policy: RetryPolicy = HUB) -> bool:
    """Worth another try: a connection error, or an answer with one of ``policy.retry_statuses``."""
    status = http_status(error)
    return status in policy.retry_statuses if status is not None else is_connection_error(error)


def transient_read_error(error: BaseException) -> bool:
    """Worth another try for a storage read: anything but a missing object."""
    return not isinstance(error, FileNotFoundError)


def retry_after_s(error: BaseException) -> float | None:
    """Seconds a Hub answer asked to wait (``Retry-After`` in seconds), None when it did not say."""
    for current in _chain(error):
        headers = getattr(getattr(current, "response", None), "headers", None) or {}
        value = headers.get("Retry-After")
        if value is not None and value.strip().isdigit():
            return float(value)
    return None


def call_with_retries(
    call: Callable[[], T],
    *,
    retryable: Callable[[BaseException], bool],
    policy: RetryPolicy = HUB,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
) -> T:
    """``call()``, tried again while it raises a ``retryable`` error, at most ``policy.attempts`` times in all.

    Before each wait, ``on_retry(error, failures, wait_s)`` is called (to say what failed and how long the wait
    is). The last error is raised as it is.
    """

    def wait(state: tenacity.RetryCallState) -> float:
        asked = retry_after_s(state.outcome.exception())
        return min(policy.max_wait_s, asked) if asked is not None else policy.backoff_s(state.attempt_number)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None:
            on_retry(state.outcome.exception(), state.attempt_number, state.next_action.sleep)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=wait,
        retry=tenacity.retry_if_exception(retryable),
        sleep=policy.sleep or tenacity.nap.sleep,  # tenacity's looks time.sleep up at each wait
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(call)


def _chain(error: BaseException | None):
    """``error`` and the errors it was raised from (``raise ... from``)."""
    while error is not None:
        yield error
        error = error.__cause__
