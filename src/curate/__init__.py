"""curate: the SmolLM2 open data recipes as datatrove pipelines."""

import logging
from importlib.metadata import PackageNotFoundError, version

__version__ = "0.1.0"


def _cpu_only_torch() -> bool:
    try:
        return "+cpu" in version("torch")
    except PackageNotFoundError:
        return False


# transformers imports torchao (the [int8] extra) whenever it is installed, and torchao then warns about each of
# its CUDA kernel libraries that a CPU-only torch cannot load; on such a torch they could never be used.
if _cpu_only_torch():
    logging.getLogger("torchao").addFilter(lambda record: not record.getMessage().startswith("Failed to load"))
