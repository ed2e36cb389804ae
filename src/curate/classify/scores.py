"""The one rounding rule of every educational score: ``int_score = round(clip(score, 0, max_score))``.

The FineWeb-Edu classifier card defines it; the scorer, the classifier training and evaluation, and the LLM
annotation parser all call :func:`int_scores`, so a score rounds the same way wherever it is made.
"""

import numpy as np
from numpy.typing import ArrayLike


def int_scores(scores: ArrayLike, max_score: int = 5) -> np.ndarray:
    """``round(clip(score, 0, max_score))`` as int64, for one score or an array (ties to even, as ``round``)."""
    return np.rint(np.clip(np.asarray(scores, dtype=np.float64), 0, max_score)).astype(np.int64)
