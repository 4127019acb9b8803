"""The loopback fake Slack Web API, driven by a real slack_sdk WebClient."""

from __future__ import annotations

import threading

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fakes.slack_server import FakeSlack


def _client(server: FakeSlack, **kw: object) -> WebClient:
    return WebClient(token="xoxb-test", base_url=server.base_url, **kw)  # type: ignore[arg-type]


def test_auth_test_answers_with_bot_identity(slack_server: FakeSlack) -> None:
    resp = _client(slack_server).auth_test()
    assert resp["user_id"] == "UBOT"
    assert resp["team_id"] == "T1"
    assert resp["bot_id"] == "B1"
    call = slack_server.calls("auth.test")[0]
    assert call.headers["authorization"] == "Bearer xoxb-test"


def test_post_message_records_decoded_blocks_and_returns_increasing_ts(slack_server: FakeSlack) -> None:
    client = _client(slack_server)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]
    first = client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    second = client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    assert first["channel"] == "C1"
    assert float(second["ts"]) > float(first["ts"])
    calls = slack_server.calls("chat.postMessage")
    assert calls[0].blocks == blocks
    assert calls[1].params["thread_ts"] == first["ts"]


def test_form_encoded_blocks_are_decoded(slack_server: FakeSlack) -> None:
    client = _client(slack_server)
    posted = client.chat_postMessage(channel="C1", text="x")
    blocks = [{"type": "divider"}]
    # chat.update is sent form-encoded by slack_sdk; blocks arrive as a JSON string.
    client.chat_update(channel="C1", ts=posted["ts"], text="y", blocks=blocks)
    call = slack_server.calls("chat.update")[0]
    assert call.blocks == blocks
    assert call.params["text"] == "y"
    assert slack_server.messages[("C1", posted["ts"])]["text"] == "y"


def test_update_of_unknown_message_fails_like_slack(slack_server: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        _client(slack_server).chat_update(channel="C1", ts="1.2", text="y")
    assert err.value.response["error"] == "message_not_found"


def test_users_info_time_zone_is_configurable(slack_server: FakeSlack) -> None:
    client = _client(slack_server)
    slack_server.set_user_tz("U2", "Europe/Berlin")
    assert client.users_info(user="U1")["user"]["tz"] == "Asia/Shanghai"
    assert client.users_info(user="U2")["user"]["tz"] == "Europe/Berlin"


def test_conversations_open_returns_dm_channel(slack_server: FakeSlack) -> None:
    assert _client(slack_server).conversations_open(users="U7")["channel"]["id"] == "DU7"


def test_views_return_an_id(slack_server: FakeSlack) -> None:
    client = _client(slack_server)
    view = {"type": "home", "blocks": []}
    resp = client.views_publish(user_id="U1", view=view)
    assert resp["view"]["id"].startswith("V")
    assert slack_server.calls("views.publish")[0].params["view"] == view


def test_unknown_method_and_fail_method(slack_server: FakeSlack) -> None:
    client = _client(slack_server)
    with pytest.raises(SlackApiError) as err:
        client.api_call("no.such.method")
    assert err.value.response["error"] == "unknown_method"
    slack_server.fail_method("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError) as err2:
        client.chat_postMessage(channel="C404", text="x")
    assert err2.value.response["error"] == "channel_not_found"


def test_rate_limit_is_retried_by_retry_handler(slack_server: FakeSlack) -> None:
    slack_server.rate_limit(1, retry_after=0)
    client = _client(slack_server, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    resp = client.chat_postMessage(channel="C1", text="x")
    assert resp["ok"] is True
    attempts = slack_server.attempts("chat.postMessage")
    assert [a.status for a in attempts] == [429, 200]
    assert len(slack_server.calls("chat.postMessage")) == 1


def test_rate_limit_without_handler_surfaces_retry_after(slack_server: FakeSlack) -> None:
    slack_server.rate_limit(1, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        _client(slack_server).chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] in ("7", ["7"])


def test_outage_answers_5xx_then_recovers(slack_server: FakeSlack) -> None:
    slack_server.outage(2, status=503)
    client = _client(slack_server)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="C1", text="x")
        assert err.value.response.status_code == 503
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True


def test_timed_outage_expires(slack_server: FakeSlack) -> None:
    slack_server.outage(0.0)
    assert _client(slack_server).chat_postMessage(channel="C1", text="x")["ok"] is True


def test_files_upload_v2_round_trip(slack_server: FakeSlack) -> None:
    resp = _client(slack_server).files_upload_v2(
        channel="C1", content="a,b\n1,2\n", filename="stats.csv", title="Stats", thread_ts="1.1"
    )
    assert resp["file"]["title"] == "Stats"
    assert list(slack_server.uploads.values()) == [b"a,b\n1,2\n"]
    complete = slack_server.calls("files.completeUploadExternal")[0]
    assert complete.params["channel_id"] == "C1"
    assert complete.params["files"][0]["id"] == resp["file"]["id"]


def test_wait_for_polls_until_calls_arrive(slack_server: FakeSlack) -> None:
    client = _client(slack_server)
    worker = threading.Thread(
        target=lambda: [client.reactions_add(channel="C1", timestamp="1.1", name="eyes")]
    )
    worker.start()
    calls = slack_server.wait_for("reactions.add", 1, timeout=5)
    worker.join()
    assert calls[0].params["name"] == "eyes"
    with pytest.raises(TimeoutError):
        slack_server.wait_for("reactions.add", 2, timeout=0.05)


def test_reset_forgets_calls_and_faults(slack_server: FakeSlack) -> None:
    client = _client(slack_server)
    client.auth_test()
    slack_server.fail_method("auth.test")
    slack_server.reset()
    assert slack_server.calls() == []
    assert client.auth_test()["ok"] is True


def test_missing_token_is_not_authed(slack_server: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=slack_server.base_url).auth_test()
    assert err.value.response["error"] == "not_authed"


def test_bot_token_answers_carry_its_scopes(slack_server: FakeSlack) -> None:
    slack_server.scopes = "chat:write,users:read"
    response = _client(slack_server).auth_test()
    granted = {k.lower(): v for k, v in response.headers.items()}["x-oauth-scopes"]
    assert granted == "chat:write,users:read"


def test_apps_connections_open_wants_the_app_token_and_that_token_nothing_else(
    slack_server: FakeSlack,
) -> None:
    from tests.fakes.socket_server import FakeSocketMode

    with pytest.raises(SlackApiError) as err:
        _client(slack_server).apps_connections_open(app_token="xoxb-test")
    assert err.value.response["error"] == "not_allowed_token_type"
    app = WebClient(token="xapp-test", base_url=slack_server.base_url)
    with pytest.raises(SlackApiError) as err:
        app.chat_postMessage(channel="CINQ", text="hi")
    assert err.value.response["error"] == "not_allowed_token_type"
    server = FakeSocketMode().start()
    try:
        server.attach(slack_server)
        first = app.apps_connections_open(app_token="xapp-test")["url"]
        second = app.apps_connections_open(app_token="xapp-test")["url"]
        assert first.startswith(f"ws://127.0.0.1:{server.port}/link?ticket=") and first != second
    finally:
        server.stop()
