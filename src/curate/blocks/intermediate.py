"""Reading what an earlier stage of the same run wrote."""

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.readers import JsonlReader


class StageOutputReader(JsonlReader):
    """datatrove's JsonlReader for a folder an earlier stage wrote, which may be empty.

    When every document was filtered out, the earlier stage wrote no file at all: datatrove's reader then stops the
    task with "No files found"; this one counts ``empty_input`` and yields nothing, so the run ends normally with an
    empty result. Arguments are JsonlReader's.
    """

    name = "🐿 Stage output"

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        files = self.data_folder.get_shard(rank, world_size, recursive=self.recursive, glob_pattern=self.glob_pattern)
        if files is not None:  # None: the folder holds no file at all
            yield from super().run(data, rank, world_size)
            return
        self.stat_update("empty_input")
        if data:
            yield from data
