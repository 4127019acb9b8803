"""The OpenAI adapter against the loopback fake server (real openai 3.x client, httpx2 inside)."""

from __future__ import annotations

import time

import openai
import pytest

from bot.adapters.llm_openai import OpenAILlm
from bot.core.errors import DraftingError, LlmError, LlmRateLimitError, LlmTimeoutError
from bot.drafting.llm import Completion
from tests.fakes.llm_server import FakeLlmServer

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]


def test_complete_sends_model_messages_and_key_to_the_configured_base_url(llm_server: FakeLlmServer) -> None:
    llm_server.reply("Hi there")
    llm = OpenAILlm(api_key="sk-test", base_url=llm_server.base_url, model="qwen-test")

    result = llm.complete(MESSAGES, temperature=0.1, max_tokens=50)

    assert result.text == "Hi there"
    assert result.prompt_tokens is not None and result.prompt_tokens > 0
    assert result.completion_tokens is not None
    [req] = llm_server.chat_requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.body["model"] == "qwen-test"
    assert req.body["messages"] == MESSAGES
    assert req.body["temperature"] == 0.1
    assert req.body["max_tokens"] == 50
    assert "response_format" not in req.body


def test_json_mode_asks_for_a_json_object(llm_server: FakeLlmServer) -> None:
    llm_server.reply('{"draft": "x"}')
    llm = OpenAILlm(api_key=None, base_url=llm_server.base_url, model="m")

    llm.complete(MESSAGES, json_mode=True)

    assert llm_server.last_body["response_format"] == {"type": "json_object"}
    # no key configured: a dummy one is sent so local servers (Ollama, vLLM) work
    assert llm_server.chat_requests[0].headers["authorization"] == "Bearer not-needed"


def test_server_error_is_retried_once_then_succeeds(llm_server: FakeLlmServer) -> None:
    llm_server.fail(500, times=1)
    llm_server.reply("recovered")
    llm = OpenAILlm(api_key="k", base_url=llm_server.base_url, model="m", max_retries=1)

    assert llm.complete(MESSAGES).text == "recovered"
    assert len(llm_server.chat_requests) == 2


def test_rate_limit_after_retries_becomes_llm_rate_limit_error(llm_server: FakeLlmServer) -> None:
    llm_server.fail(429, times=5, retry_after=0.01)
    llm = OpenAILlm(api_key="k", base_url=llm_server.base_url, model="m", max_retries=1)

    with pytest.raises(LlmRateLimitError) as info:
        llm.complete(MESSAGES)

    assert isinstance(info.value, DraftingError)
    assert isinstance(info.value.__cause__, openai.RateLimitError)
    assert len(llm_server.chat_requests) == 2  # the first try and one retry, no more


def test_persistent_server_error_becomes_llm_error(llm_server: FakeLlmServer) -> None:
    llm_server.fail(500, times=5)
    llm = OpenAILlm(api_key="k", base_url=llm_server.base_url, model="m", max_retries=0)

    with pytest.raises(LlmError, match="500"):
        llm.complete(MESSAGES)


def test_slow_server_raises_llm_timeout_error_quickly(llm_server: FakeLlmServer) -> None:
    llm_server.delay(5.0)
    llm = OpenAILlm(
        api_key="k", base_url=llm_server.base_url, model="m", timeout=0.3, connect_timeout=0.3, max_retries=0
    )

    started = time.monotonic()
    with pytest.raises(LlmTimeoutError) as info:
        llm.complete(MESSAGES)

    assert time.monotonic() - started < 2.0
    assert isinstance(info.value.__cause__, openai.APITimeoutError)


def test_unreachable_server_becomes_llm_error() -> None:
    server = FakeLlmServer().start()
    base_url = server.base_url
    server.stop()  # nothing listens on that port any more
    llm = OpenAILlm(api_key="k", base_url=base_url, model="m", timeout=1, connect_timeout=1, max_retries=0)

    with pytest.raises(LlmError, match="unreachable"):
        llm.complete(MESSAGES)


def test_server_rejecting_response_format_gets_a_plain_request(llm_server: FakeLlmServer) -> None:
    llm_server.fail(400, times=1, message="response_format is not supported by this server")
    llm_server.reply('{"draft": "ok"}')
    llm = OpenAILlm(api_key="k", base_url=llm_server.base_url, model="m", max_retries=0)

    assert llm.complete(MESSAGES, json_mode=True).text == '{"draft": "ok"}'
    first, second = llm_server.chat_requests
    assert "response_format" in first.body
    assert "response_format" not in second.body


def test_other_bad_request_is_an_llm_error_without_retry(llm_server: FakeLlmServer) -> None:
    llm_server.fail(400, times=1, message="context length exceeded")
    llm = OpenAILlm(api_key="k", base_url=llm_server.base_url, model="m", max_retries=0)

    with pytest.raises(LlmError, match="400"):
        llm.complete(MESSAGES, json_mode=True)
    assert len(llm_server.chat_requests) == 1


def test_fake_server_serves_models_and_callable_replies(llm_server: FakeLlmServer) -> None:
    llm_server.reply(lambda body: f"echo {body['messages'][-1]['content']}")
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)

    assert [m.id for m in client.models.list().data] == ["fake-model"]
    resp = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping"}])
    assert resp.choices[0].message.content == "echo ping"
    assert [r.method for r in llm_server.requests] == ["GET", "POST"]


def test_completion_is_a_frozen_value() -> None:
    c = Completion("t", 1, 2)
    with pytest.raises(AttributeError):
        c.text = "u"  # type: ignore[misc]
