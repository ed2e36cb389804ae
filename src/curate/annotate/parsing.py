"""Turn an LLM's answer into a score, strictly.

generate mode: only the last non-empty line of the answer counts, and it must read
``<score_label>: <N>`` with ``N`` a whole number from 0 to the scale's maximum. Tolerated: whitespace around
the line and after the colon, and one trailing period (``Educational score: 3.``), which instruction models
often add. Not tolerated: another label or other capitalisation, Markdown (``**Educational score: 3**``),
fractions (``3/5``), decimals (``3.5``), or a score line followed by more text. Each failure has a reason.

logprobs mode: the answer is cut off right after ``<score_label>:`` and the score is the expected value of
the next token over the digits ``0..max`` (probabilities renormalised over those digits).
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from curate.classify.scores import int_scores

NO_SCORE_LINE = "no_score_line"
OUT_OF_RANGE = "out_of_range"
EMPTY_RESPONSE = "empty_response"
ERROR = "error"
NO_DIGIT_TOKEN = "no_digit_token"


@dataclass(frozen=True)
class ParsedScore:
    """A score (None when the answer gave none) and, when None, why."""

    score: float | None
    int_score: int | None
    null_reason: str | None


def parse_score_line(response: str | None, score_label: str, max_score: int) -> ParsedScore:
    """Read the score from the last non-empty line of a generated answer (see the module docstring)."""
    if response is None or not response.strip():
        return ParsedScore(None, None, EMPTY_RESPONSE)
    last_line = [line for line in response.splitlines() if line.strip()][-1].strip()
    match = re.fullmatch(rf"{re.escape(score_label)}:\s*(-?\d+)\.?", last_line)
    if match is None:
        return ParsedScore(None, None, NO_SCORE_LINE)
    points = int(match.group(1))
    if not 0 <= points <= max_score:
        return ParsedScore(None, None, OUT_OF_RANGE)
    return ParsedScore(float(points), points, None)


def digit_logprobs(top_logprobs: Mapping[str, float], max_score: int) -> dict[int, float]:
    """Log-probability of each digit 0..max among candidate next tokens given as ``{token text: logprob}``.

    A digit may come as several tokens (``"3"`` and ``" 3"``); their probabilities are added.
    """
    probabilities: dict[int, float] = {}
    for token, logprob in top_logprobs.items():
        stripped = token.strip()
        # "0".."9" only: str.isdigit() also accepts superscripts such as "²", which int() rejects
        if len(stripped) == 1 and stripped in "0123456789" and int(stripped) <= max_score and math.isfinite(logprob):
            digit = int(stripped)
            probabilities[digit] = probabilities.get(digit, 0.0) + math.exp(logprob)
    return {digit: math.log(p) for digit, p in probabilities.items() if p > 0}


def expected_score(top_logprobs: Mapping[str, float], max_score: int) -> ParsedScore:
    """Expected score over the digit tokens 0..max, renormalised; null (``no_digit_token``) when none is among them."""
    digits = digit_logprobs(top_logprobs, max_score)
    if not digits:
        return ParsedScore(None, None, NO_DIGIT_TOKEN)
    total = sum(math.exp(lp) for lp in digits.values())
    score = sum(digit * math.exp(lp) for digit, lp in digits.items()) / total
    return ParsedScore(score, int(int_scores(score, max_score)), None)
