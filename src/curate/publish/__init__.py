"""Publishing: push recipe outputs to the Hub with a dataset card, and plan SmolLM2-style stage mixtures."""

from curate.funnel import FunnelRow, read_funnel
from curate.publish.card import build_card
from curate.publish.hub import HubAnswerError, HubPusher, PushPlan, PushReport, push_output

__all__ = [
    "FunnelRow",
    "HubAnswerError",
    "HubPusher",
    "PushPlan",
    "PushReport",
    "build_card",
    "push_output",
    "read_funnel",
]
