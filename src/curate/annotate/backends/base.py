"""The interface every annotation backend implements, and what it returns."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

Conversation = list[dict[str, str]]  # chat messages: [{"role": "user", "content": "..."}]


@dataclass
class Completion:
    """A generated answer, or the error that prevented it (after the backend's own retries)."""

    text: str | None = None
    completion_tokens: int = 0
    error: str | None = None


@dataclass
class NextTokenLogprobs:
    """Candidate next tokens after the score prefix as ``{token text: logprob}``, or the error that prevented it."""

    top_logprobs: dict[str, float] | None = None
    error: str | None = None


class AnnotationBackend(ABC):
    """Runs chat prompts through one model. The chat template is the model's own.

    Backends load lazily in ``start`` so that a pipeline holding one can be pickled to its workers.
    """

    name: str = "backend"

    def __init__(self, model: str):
        """
        Args:
            model: the model reference (Hub id, local path, ``bundled:`` asset or the server's model name).
        """
        self.model = model

    def start(self, rank: int = 0, world_size: int = 1) -> None:  # noqa: B027 - optional hook
        """Load the model or open connections; called once per worker before the first batch."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what ``start`` took."""

    @abstractmethod
    def generate(self, conversations: list[Conversation], max_tokens: int, temperature: float) -> list[Completion]:
        """One answer per conversation, in order."""

    @abstractmethod
    def next_token_logprobs(
        self, conversations: list[Conversation], assistant_prefix: str, top_logprobs: int
    ) -> list[NextTokenLogprobs]:
        """For each conversation, the distribution of the token that follows an assistant turn opened with
        ``assistant_prefix``: one forward pass, nothing generated. The prefix is used as given (see
        ``score_prefix`` for where the space goes)."""

    @abstractmethod
    def score_prefix(self, score_label: str) -> str:
        """``"<label>:"`` or ``"<label>: "``: whichever makes the score digit the very next token for this
        model's tokenizer (Llama 3 has ``" 3"`` tokens; SmolLM2 splits it into ``" "`` + ``"3"``)."""


def score_prefix_for_tokenizer(tokenizer, score_label: str) -> str:
    """Pick the score prefix (see ``AnnotationBackend.score_prefix``) for a Hugging Face tokenizer."""
    with_space_digit = tokenizer.encode(f"{score_label}: 3", add_special_tokens=False)
    without = tokenizer.encode(f"{score_label}:", add_special_tokens=False)
    # the digit glued to its space is one token exactly when "label: 3" is one token longer than "label:"
    if len(with_space_digit) == len(without) + 1 and with_space_digit[: len(without)] == without:
        return f"{score_label}:"
    return f"{score_label}: "
