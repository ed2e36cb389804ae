"""Token counts with a tokenizer read from a local file or the Hugging Face cache."""

from functools import cached_property

from datatrove.pipeline.tokens import TokensCounter
from datatrove.utils.tokenization import PipelineStepWithTokenizer

from curate.assets import Asset, model_asset


class OfflineTokensCounter(TokensCounter):
    """datatrove's TokensCounter whose tokenizer is never downloaded by a task.

    Args:
        tokenizer_name_or_path: a Hub id whose ``tokenizer.json`` is in the HF cache (``curate fetch`` puts it
            there; FineWeb counts with ``gpt2``), a local ``tokenizer.json`` or a ``bundled:`` reference
        count_eos_token: also count one EOS token per document
        batch_size: documents tokenized together
    """

    def __init__(self, tokenizer_name_or_path: str = "gpt2", count_eos_token: bool = False, batch_size: int = 10000):
        super().__init__(tokenizer_name_or_path, count_eos_token=count_eos_token, batch_size=batch_size)
        self.tokenizer_ref = tokenizer_name_or_path

    def required_assets(self) -> list[Asset]:
        return [model_asset(self.tokenizer_ref, "tokenizer")]

    @cached_property
    def tokenizer(self):
        # datatrove loads a local file as is, and anything else with Tokenizer.from_pretrained (a download)
        self.tokenizer_name_or_path = str(self.required_assets()[0].require())
        return PipelineStepWithTokenizer.tokenizer.func(self)
