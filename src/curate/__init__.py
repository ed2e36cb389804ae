"""curate: the SmolLM2 open data recipes as datatrove pipelines."""

__version__ = "0.1.0"
