"""Publishing: push recipe outputs to the Hub with a dataset card, and plan SmolLM2-style stage mixtures."""

from curate.publish.card import FunnelRow, build_card, read_funnel
from curate.publish.hub import HubPusher, PushPlan, PushReport, RetryPolicy, push_output

__all__ = [
    "FunnelRow",
    "HubPusher",
    "PushPlan",
    "PushReport",
    "RetryPolicy",
    "build_card",
    "push_output",
    "read_funnel",
]
