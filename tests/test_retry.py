"""curate.retry: the one retry policy of Hub, Software Heritage and LLM-server calls (tenacity underneath)."""

import httpx2
import pytest
from huggingface_hub.errors import HfHubHTTPError

from curate.retry import (
    HUB,
    LLM_SERVER,
    SOFTWARE_HERITAGE,
    RetryPolicy,
    call_with_retries,
    http_status,
    is_connection_error,
    retry_after_s,
    transient_hub_error,
    transient_read_error,
)


def hub_error(status: int, retry_after: str | None = None) -> HfHubHTTPError:
    """The error huggingface_hub raises for an HTTP answer (built from a real httpx2 response)."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    request = httpx2.Request("POST", "http://hub.invalid/api/datasets/a/b/commit/main")
    return HfHubHTTPError(f"HTTP {status}", response=httpx2.Response(status, headers=headers, request=request))


class Flaky:
    """Raises the given errors in turn, then returns "done"."""

    def __init__(self, *errors: BaseException):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_backoff_doubles_up_to_the_cap_and_each_wait_is_announced():
    waits, announced = [], []
    policy = RetryPolicy(attempts=5, first_wait_s=2.0, max_wait_s=5.0, sleep=waits.append)
    call = Flaky(*(httpx2.ConnectError("refused") for _ in range(4)))
    result = call_with_retries(
        call, retryable=transient_hub_error, policy=policy, on_retry=lambda e, n, s: announced.append((n, s))
    )
    assert result == "done" and call.calls == 5
    assert waits == [2.0, 4.0, 5.0, 5.0]
    assert announced == [(1, 2.0), (2, 4.0), (3, 5.0), (4, 5.0)]


def test_retry_after_is_honoured_and_capped():
    waits = []
    policy = RetryPolicy(attempts=3, first_wait_s=1.0, max_wait_s=30.0, sleep=waits.append)
    call = Flaky(hub_error(429, "7"), hub_error(503, "600"))
    assert call_with_retries(call, retryable=transient_hub_error, policy=policy) == "done"
    assert waits == [7.0, 30.0]


def test_attempts_bound_the_tries_and_the_last_error_is_raised_as_it_is():
    waits = []
    policy = RetryPolicy(attempts=3, first_wait_s=0.5, sleep=waits.append)
    last = hub_error(502)
    call = Flaky(hub_error(500), hub_error(503), last, hub_error(500))
    with pytest.raises(HfHubHTTPError) as raised:
        call_with_retries(call, retryable=transient_hub_error, policy=policy)
    assert raised.value is last and call.calls == 3 and waits == [0.5, 1.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_raised_at_once(status):
    waits = []
    call = Flaky(hub_error(status))
    with pytest.raises(HfHubHTTPError):
        call_with_retries(call, retryable=transient_hub_error, policy=RetryPolicy(sleep=waits.append))
    assert call.calls == 1 and waits == []


def test_what_is_transient_is_decided_in_one_place():
    for status in (408, 409, 412, 429, 500, 502, 503, 504):
        assert transient_hub_error(hub_error(status))
    assert not transient_hub_error(hub_error(400))
    assert transient_hub_error(httpx2.ConnectError("no route")) and transient_hub_error(httpx2.ReadTimeout("slow"))
    wrapped = RuntimeError("upload failed")
    wrapped.__cause__ = httpx2.RemoteProtocolError("peer closed")
    assert is_connection_error(wrapped) and transient_hub_error(wrapped)
    assert not transient_hub_error(ValueError("a bug, not the network"))
    assert http_status(hub_error(409)) == 409 and retry_after_s(hub_error(429, "3")) == 3.0
    assert retry_after_s(hub_error(429, "Wed, 21 Oct 2015 07:28:00 GMT")) is None  # dates: the backoff applies
    assert transient_read_error(TimeoutError()) and transient_read_error(ConnectionError())
    assert not transient_read_error(FileNotFoundError("blob"))


def test_the_shared_settings():
    assert (HUB.attempts, HUB.first_wait_s, HUB.max_wait_s) == (8, 2.0, 300.0)
    assert 412 in HUB.retry_statuses and 400 not in HUB.retry_statuses
    assert SOFTWARE_HERITAGE.attempts == 4 and SOFTWARE_HERITAGE.max_wait_s <= 30
    # the openai client of the annotation backend is configured from it (max_retries = attempts - 1)
    assert LLM_SERVER.attempts == 6 and {429, 500, 503} <= set(LLM_SERVER.retry_statuses)
