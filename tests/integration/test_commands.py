"""``/inquiries`` end to end: the parser, the CommandHandler's answers and Bolt's ack body.

Bad input always gets the usage, good input a confirmation or a listing, and no text at
all can make the handler raise (property test).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app.wiring import Desktop
from bot.core.errors import UsageError
from bot.core.models import Status
from bot.desk.commands import SUBCOMMANDS, parse_command
from bot.handlers.commands import CommandHandler
from tests.factories import make_email
from tests.fakes.slack_server import FakeSlack
from tests.slack_helpers import CHANNEL, FORM, T_ARRIVED, dispatch, drain, slash_body

USAGE_MARK = "`claim ID`"  # a line of the usage text (bot/core/locales/en.json: cmd.usage)


@pytest.fixture
def handler(desktop: Desktop) -> CommandHandler:
    return CommandHandler(desktop.services)


def ingest_panels(desktop: Desktop) -> str:
    result = desktop.ingestor.ingest(
        make_email(
            subject="LED panels 600x600 for a school project",
            new_text="We need 2,000 pcs of 600x600 LED panels, please quote FOB Shenzhen and MOQ.",
            from_addr="anna@licht.de",
        ),
        T_ARRIVED,
    )
    assert result.outcome == "new" and result.inquiry_id == "1"
    return result.inquiry_id


def slash(desktop: Desktop, text: str, user: str = "UALICE") -> str:
    """What Bolt answers Slack for ``/inquiries TEXT`` (the ephemeral reply)."""
    response = dispatch(desktop.app, slash_body(text, user), FORM)
    assert response.status == 200, response.body
    body = response.body
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    return str(parsed.get("text", body)) if isinstance(parsed, dict) else body


@pytest.mark.parametrize("text", ["", "help", "?"])
def test_help_and_empty_text_answer_the_usage(desktop: Desktop, text: str) -> None:
    answer = slash(desktop, text)
    assert USAGE_MARK in answer and "/inquiries" in answer


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("bogus", "unknown sub-command"),
        ("claim", "takes one inquiry id"),
        ("claim abc", "not an inquiry id"),
        ("claim 1 2", "takes one inquiry id"),
        ("tier 1 Z", "tier is A, B or C"),
        ("snooze 1 forever", "not a duration"),
        ("snooze 1 99999999999999999d", "between 1 minute and 90 days"),
        ("search", "search needs some text"),
        ("note 1", "an inquiry id and some text"),
        ("status 1 maybe", "status is one of"),
    ],
)
def test_bad_input_is_answered_with_the_reason_and_the_usage(
    desktop: Desktop, handler: CommandHandler, text: str, why: str
) -> None:
    ingest_panels(desktop)
    for answer in (handler.answer(text, "UALICE"), slash(desktop, text)):
        assert why in answer
        assert USAGE_MARK in answer


def test_an_unknown_inquiry_is_answered_not_found(handler: CommandHandler) -> None:
    assert handler.answer("claim 999", "UALICE") == "No such inquiry."


def test_listings_and_changes_are_confirmed_and_take_effect(
    desktop: Desktop, handler: CommandHandler, slack_server: FakeSlack
) -> None:
    inq_id = ingest_panels(desktop)
    drain(desktop.worker)

    assert slash(desktop, "mine") == "No inquiries found."
    opened = slash(desktop, "open")
    assert opened.startswith("1 inquiry:") and "#1" in opened and "LED panels 600x600" in opened
    found = slash(desktop, "search panels")
    assert "#1" in found and "anna@licht.de" in found
    assert slash(desktop, "search nothing-like-this") == "No inquiries found."

    assert slash(desktop, "claim 1") == "Done: `1`."
    assert desktop.store.require(inq_id).owner == "UALICE"
    mine = slash(desktop, "mine")
    assert "#1" in mine and "<@UALICE>" in mine
    assert handler.answer("mine", "UBOB") == "No inquiries found."
    assert "Already claimed by <@UALICE>" in handler.answer("claim 1", "UBOB")

    assert slash(desktop, "note 1 called the buyer") == "Done: `1`."
    assert slash(desktop, "status 1 won") == "Done: `1`."
    inq = desktop.store.require(inq_id)
    assert inq.status is Status.WON
    assert [e.detail for e in inq.events if e.action == "note"] == ["called the buyer"]
    assert slash(desktop, "open") == "No inquiries found."  # won is closed

    drain(desktop.worker)
    ts = inq.card_ts
    thread = [
        c.params["text"] for c in slack_server.calls("chat.postMessage") if c.params.get("thread_ts") == ts
    ]
    assert any("called the buyer" in t for t in thread)
    assert all(c.params["channel"] == CHANNEL for c in slack_server.calls("chat.postMessage"))


def test_history_lists_who_did_what(desktop: Desktop, handler: CommandHandler) -> None:
    ingest_panels(desktop)
    handler.answer("claim 1", "UALICE")
    history = handler.answer("history 1", "UALICE")
    assert history.startswith("#1 ")
    assert "received" in history and "<@UALICE> claimed" in history


def test_every_sub_command_without_arguments_is_refused_or_answered(handler: CommandHandler) -> None:
    for name, arity in SUBCOMMANDS.items():
        if arity == 0 or (arity == -1 and name != "search"):
            continue
        with pytest.raises(UsageError):
            parse_command(name)
        assert USAGE_MARK in handler.answer(name, "UALICE")


_words = st.sampled_from([*SUBCOMMANDS, "#1", "1", "2", "999", "A", "z", "4h", "forever", "won", "-1", "0"])
_texts = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(_words, st.text(min_size=1, max_size=12)), max_size=5).map(" ".join),
    st.tuples(st.sampled_from(["snooze 1", "tier 1", "status 1", "note 1"]), st.text(max_size=30)).map(
        " ".join
    ),
    st.tuples(st.integers(min_value=0, max_value=10**30), st.sampled_from("mhdwMHDWx")).map(
        lambda p: f"snooze 1 {p[0]}{p[1]}"
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_texts, user=st.sampled_from(["UALICE", "UBOB", "UADMIN", ""]))
def test_any_text_gets_a_non_empty_answer_and_never_an_exception(
    desktop: Desktop, handler: CommandHandler, text: str, user: str
) -> None:
    if desktop.store.get("1") is None:
        ingest_panels(desktop)
    answer = handler.answer(text, user)
    assert isinstance(answer, str) and answer.strip()
