"""``OpenAILlm``: the LLM port (:class:`bot.drafting.llm.LlmClient`) over the OpenAI chat-completions
API (OpenAI, Ollama, vLLM, LM Studio...); the only module that imports ``openai``. Built once per
process in the composition root::

    llm = OpenAILlm(api_key=None, base_url="http://localhost:11434/v1", model="qwen2.5:7b")
    llm.complete([{"role": "user", "content": "Say hi"}])
    # Completion(text='Hi!', prompt_tokens=9, completion_tokens=3)
"""

from __future__ import annotations

import logging
from typing import cast

import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam

from bot.core.errors import LlmError, LlmRateLimitError, LlmTimeoutError
from bot.drafting.llm import Completion

log = logging.getLogger(__name__)


class OpenAILlm:
    """``LlmClient`` over the OpenAI chat-completions API (OpenAI, Ollama, vLLM, LM Studio...)."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        model: str,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        max_retries: int = 1,
    ) -> None:
        self.model = model
        self._client = openai.OpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url,
            timeout=httpx2.Timeout(timeout, connect=connect_timeout),
            max_retries=max_retries,
        )
        # Servers that reject response_format get plain requests after the first refusal.
        self._json_mode_supported = True

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float = 0.3,
        max_tokens: int = 900,
        json_mode: bool = False,
    ) -> Completion:
        use_json = json_mode and self._json_mode_supported
        try:
            return self._create(messages, temperature, max_tokens, use_json)
        except openai.BadRequestError as e:
            if not use_json or "response_format" not in str(e):
                raise LlmError(f"LLM rejected the request (HTTP {e.status_code})") from e
            log.info("llm server rejects response_format; retrying without it")
            self._json_mode_supported = False
        try:
            return self._create(messages, temperature, max_tokens, False)
        except openai.BadRequestError as e:
            raise LlmError(f"LLM rejected the request (HTTP {e.status_code})") from e

    def _create(
        self, messages: list[dict[str, str]], temperature: float, max_tokens: int, json_mode: bool
    ) -> Completion:
        try:
            if json_mode:
                resp = self._client.chat.completions.create(
                    model=self.model,
                    messages=cast("list[ChatCompletionMessageParam]", messages),
                    temperature=temperature,
                    max_tokens=max_tokens,
                    response_format={"type": "json_object"},
                )
            else:
                resp = self._client.chat.completions.create(
                    model=self.model,
                    messages=cast("list[ChatCompletionMessageParam]", messages),
                    temperature=temperature,
                    max_tokens=max_tokens,
                )
        except openai.BadRequestError:
            raise
        except openai.APITimeoutError as e:
            raise LlmTimeoutError("LLM timed out") from e
        except openai.RateLimitError as e:
            raise LlmRateLimitError("LLM rate limit (HTTP 429) after retries") from e
        except openai.APIStatusError as e:
            raise LlmError(f"LLM answered HTTP {e.status_code}") from e
        except openai.APIConnectionError as e:
            raise LlmError("LLM unreachable") from e
        except openai.OpenAIError as e:
            raise LlmError(f"LLM call failed: {type(e).__name__}") from e
        if not resp.choices:
            raise LlmError("LLM answered with no choices")
        text = resp.choices[0].message.content or ""
        usage = resp.usage
        return Completion(
            text=text,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
        )
