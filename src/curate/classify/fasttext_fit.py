"""Train one supervised fastText model in a fresh process: ``python -m curate.classify.fasttext_fit PARAMS_JSON``.

fastText's random initialisation writes only ``threads / 10`` of its input matrix (word and word-n-gram rows) and
leaves the rest as the allocator returned it; upstream fastText stores the matrix in a zeroed ``std::vector``, but
the numpy-2 wheel that datatrove pins uses an aligned buffer that nobody clears. In a long-lived process that
buffer can be memory that held other data: the same seed then trained a different model, or values near 1e16
made it stop with "Encountered NaN." at any learning rate. A fresh process in which glibc zeroes every new
allocation gives those rows the zeros of upstream fastText, so a seed trains the same model wherever it runs.
"""

import ctypes
import json
import sys

DIVERGED_EXIT = 3  # exit status when fastText stopped with "Encountered NaN."
GLIBC_M_PERTURB = -6  # mallopt() parameter: with byte 0xff, glibc fills each new allocation with 0x00


def zero_new_allocations() -> None:
    """Make glibc's malloc hand out zeroed memory from now on (a no-op where the C library has no ``mallopt``)."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(GLIBC_M_PERTURB, 0xFF)


def main(argv: list[str]) -> int:
    zero_new_allocations()
    import fasttext

    params = json.loads(argv[0])
    output = params.pop("output")
    try:
        model = fasttext.train_supervised(**params)
    except RuntimeError as error:
        if "NaN" not in str(error):
            raise
        print(error, file=sys.stderr)
        return DIVERGED_EXIT
    model.save_model(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
