"""The drafting layer's exception hierarchy: everything raised here is a ``DraftingError``.

Adapters translate library errors at the edge (``raise LlmError(...) from e``) so callers
catch one family and never import ``openai``.
"""

from __future__ import annotations


class DraftingError(Exception):
    """Base class of every error raised by ``bot.drafting``."""


class LlmError(DraftingError):
    """The LLM could not be reached or answered with an error."""


class LlmTimeoutError(LlmError):
    """The LLM did not answer within the configured timeout."""


class LlmRateLimitError(LlmError):
    """The LLM kept answering 429 after the client's retries."""


class TemplateError(DraftingError):
    """A prompt or template file is missing, malformed, or needs a variable nobody gave it."""
