"""Read a pipeline step's datatrove stats in tests."""


def stat(step, key: str) -> int:
    """The total of one stats key of ``step`` (0 when the step never recorded it)."""
    return step.stats.stats[key].total if key in step.stats.stats else 0
