"""The LLM port: ``LlmClient`` and the ``Completion`` it returns.

Business code depends on this Protocol only; the production adapter over any OpenAI-compatible
endpoint is :class:`bot.adapters.llm_openai.OpenAILlm`, built once in the composition root.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Completion:
    """The assistant's text and the token usage the server reported (None when it reported none)."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class LlmClient(Protocol):
    """Anything that turns chat messages into one assistant message."""

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float = 0.3,
        max_tokens: int = 900,
        json_mode: bool = False,
    ) -> Completion: ...
