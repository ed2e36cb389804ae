"""Tokenizers that tasks never download: token counts, tokenized shards for training, and a token-budget sampler."""

from functools import cached_property

from datatrove.data import DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.tokens import DocumentTokenizer, DocumentTokenizerMerger, TokensCounter
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


class NamedFileTokenizer(DocumentTokenizer):
    """datatrove's DocumentTokenizer loading a local ``tokenizer.json`` while naming ``tokenizer_name`` in the shards.

    The ``.metadata`` files name the tokenizer (``<name>|<bytes per token>``); nanotron loads that name. Tasks
    then never download: the driver resolves the published tokenizer to a file in the Hugging Face cache.
    """

    def __init__(self, output_folder: DataFolderLike, tokenizer_file: str, tokenizer_name: str, **kwargs):
        """``tokenizer_file``: the local tokenizer.json; ``tokenizer_name``: the name written to the metadata."""
        super().__init__(output_folder, tokenizer_name_or_path=tokenizer_name, **kwargs)
        self.tokenizer_file = tokenizer_file

    @cached_property
    def tokenizer(self):
        # datatrove loads from the name it records; load from the file, then record the name again
        name, self.tokenizer_name_or_path = self.tokenizer_name_or_path, self.tokenizer_file
        try:
            return DocumentTokenizer.tokenizer.func(self)
        finally:
            self.tokenizer_name_or_path = name


class TokenBudgetSampler(PipelineStep):
    """Write ``tokens`` tokens of a folder of tokenized shards: whole shuffled passes, then part of one more.

    Each pass is datatrove's DocumentTokenizerMerger with its own seed; the last stops at the first document
    that reaches the budget, so the output holds ``tokens`` tokens plus less than one document. One task.
    """

    name = "🎯 Token budget"
    type = "🔢 - TOKENIZER"

    def __init__(
        self,
        input_folder: DataFolderLike,
        output_folder: DataFolderLike,
        tokens: int,
        save_filename: str,
        max_tokens_per_file: int = int(100e9),
        seed: int = 0,
    ):
        """``tokens``: the budget (end-of-document tokens included); passes use seeds ``seed``, ``seed + 1``, ..."""
        super().__init__()
        self.input_folder = get_datafolder(input_folder)
        self.output_folder = get_datafolder(output_folder)
        self.tokens = tokens
        self.save_filename = save_filename
        self.max_tokens_per_file = max_tokens_per_file
        self.seed = seed

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        assert world_size == 1, "TokenBudgetSampler runs as one task"
        written = passes = 0
        while written < self.tokens:
            merger = DocumentTokenizerMerger(
                self.input_folder,
                self.output_folder,
                save_filename=f"{self.save_filename}_pass{passes:03d}",
                max_tokens_per_file=self.max_tokens_per_file,
                max_tokens=self.tokens - written,
                shuffle=True,
                seed=self.seed + passes,
                progress=False,
            )
            merger.run(rank=0, world_size=1)
            tokens = merger.stats["tokens"].total
            if tokens == 0:
                raise ValueError(f"{self.input_folder.path} holds no tokens to sample")
            written += tokens
            passes += 1
        self.stat_update("tokens", value=written)
        self.stat_update("passes", value=passes)
