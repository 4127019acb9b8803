"""``forget`` is complete: the person's name, phone number and postal address leave every
inquiry that mentions them, every record and raw mail under DATA_DIR, and every Slack
message the bot posted about them (cards, thread notes, digests, DMs), which the outbox
updates to the erased text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from slack_sdk import WebClient

from bot.adapters.slack.chat import SlackChat
from bot.app.store import open_store
from bot.blocks.render import Renderer
from bot.core.redact import Redactor, identity_of, phones_in
from bot.desk.delivery import DeliveryWorker
from bot.desk.digests import Digests
from bot.desk.ingest import Ingestor
from bot.desk.outbox import Outbox
from bot.records.audit_verify import verify_data_dir
from bot.records.privacy import forget, subject_export
from bot.sla.engine import SlaPolicy
from bot.triage import TriageConfig
from tests.fakes.slack_server import FakeSlack

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
ADDR = "zofia.kowalczyk@licht-tech.de"
SIGNATURE = (
    "Best regards,\nZofia Kowalczyk\nPurchasing Manager\nLicht-Tech GmbH\n"
    "Friedrichstraße 123\n10117 Berlin, Germany\nTel: +49 30 9876 5432\n"
)
#: What must be gone: her name, her street address and her phone number, as written anywhere.
TRACES = ("kowalczyk", "zofia", "friedrichstra", "9876 5432", "98765432", "9876-5432", ADDR)


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    internaldate: datetime


def _mail(
    sender: str,
    subject: str,
    body: str,
    msg_id: str,
    *,
    in_reply_to: str | None = None,
    cte: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "sales@brightway-led.com"
    msg["Subject"] = subject
    msg["Message-ID"] = msg_id
    msg["Date"] = "Thu, 26 Nov 2026 08:00:00 +0100"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(body, cte=cte) if cte else msg.set_content(body)
    return msg.as_bytes()


def _traces_in(text: str) -> list[str]:
    low = text.casefold()
    return [t for t in TRACES if t.casefold() in low]


def _files_with_traces(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            hits = _traces_in(path.read_bytes().decode("utf-8", "replace"))
            if hits:
                found[str(path.relative_to(root))] = hits
    return found


def _slack_state(slack: FakeSlack) -> str:
    return json.dumps({f"{c} {ts}": m for (c, ts), m in slack.messages.items()}, ensure_ascii=False)


def _drain(worker: DeliveryWorker, outbox: Outbox) -> None:
    for _ in range(50):
        if not worker.run_once():
            break
    assert outbox.pending_count() == 0, [i.key for i in outbox.due(NOW + timedelta(days=1))]


def test_forget_erases_the_person_from_data_dir_and_from_the_bots_slack_posts(
    tmp_path: Path, slack_server: FakeSlack
) -> None:
    store = open_store(tmp_path, shards=4)
    outbox = Outbox(store)
    ingestor = Ingestor(
        store,
        outbox,
        TriageConfig(own_domains=frozenset({"brightway-led.com"})),
        lambda: NOW,
        keep_raw=True,
        sent_folders=frozenset({"Sent"}),
    )
    renderer = Renderer(SlaPolicy(), "en")
    chat = SlackChat(WebClient(token="xoxb-test", base_url=slack_server.base_url))
    worker = DeliveryWorker(
        store, outbox, chat, "CINQ", lambda: NOW, renderer.card, renderer.note, min_interval=0
    )

    zofia = ingestor.deliver(
        "INBOX",
        Fetched(
            1,
            _mail(
                f"Zofia Kowalczyk <{ADDR}>",
                "RFQ 2,000 LED panels for Licht-Tech GmbH",
                "Dear sales team,\nWe need 2,000 pcs of 60x60 LED panels, 40W, CE, FOB Shenzhen. "
                f"Please quote.\n\n{SIGNATURE}",
                "<rfq-1@licht-tech.de>",
            ),
            NOW - timedelta(days=2),
        ),
    ).inquiry_id
    max_id = ingestor.deliver(
        "INBOX",
        Fetched(
            2,
            _mail(
                "Max Braun <max@elektro-braun.de>",
                "Panels for the Zofia Kowalczyk project",
                "Hello,\nplease quote 500 LED tubes T8 1200mm. Our partner Zofia Kowalczyk "
                "(tel. +49 30 98765432, Friedrichstraße 123, 10117 Berlin) will receive them.\n"
                "Max Braun\nElektro Braun",
                "<m1@elektro-braun.de>",
                cte="quoted-printable",
            ),
            NOW - timedelta(days=1),
        ),
    ).inquiry_id
    carlos = ingestor.deliver(
        "INBOX",
        Fetched(
            3,
            _mail(
                "Carlos Ruiz <carlos@iluminacion-ruiz.mx>",
                "Cotización paneles LED",
                "Buenos días, necesitamos 500 paneles LED 60x60 para un proyecto en Monterrey.",
                "<c1@iluminacion-ruiz.mx>",
            ),
            NOW - timedelta(hours=3),
        ),
    ).inquiry_id
    assert zofia and max_id and carlos
    _drain(worker, outbox)  # the three cards
    ingestor.deliver(  # her follow-up: a thread note that quotes her
        "INBOX",
        Fetched(
            4,
            _mail(
                f"Zofia Kowalczyk <{ADDR}>",
                "Re: RFQ 2,000 LED panels for Licht-Tech GmbH",
                "Any news? You can call me on +49 30 9876 5432. Zofia Kowalczyk",
                "<rfq-2@licht-tech.de>",
                in_reply_to="<rfq-1@licht-tech.de>",
            ),
            NOW - timedelta(hours=2),
        ),
    )
    store.set_fields(zofia, owner="U1")
    store.set_fields(max_id, owner="U2")
    # Thread notes, a ping DM, the team digest and an owner digest.
    outbox.enqueue(
        "note:n1",
        "note",
        max_id,
        {"key": "note.note", "user": "U2", "text": "Zofia Kowalczyk called from +49 30 9876 5432"},
        NOW,
    )
    outbox.enqueue("note:n2", "note", zofia, {"key": "note.claimed", "user": "U1"}, NOW)
    outbox.enqueue(
        f"sla:{zofia}:x",
        "ping_dm",
        zofia,
        {"key": "ping.sla_warning.owner_dm", "owner": "U1", "user": "U1", "deadline": None},
        NOW,
    )
    digests = Digests(store, outbox, SlaPolicy(), "en", "CINQ", lambda: NOW, lambda user: "UTC")
    everything = list(store.all_inquiries())
    digests.send_team(everything, NOW)
    digests.send_owner("U2", [i for i in everything if i.owner == "U2"], NOW)
    digests.send_owner("U1", [i for i in everything if i.owner == "U1"], NOW)
    _drain(worker, outbox)
    # Still owed and on disk at the time of the erasure: a draft and a Slack note about her.
    store.drafts.add(
        {
            "inquiry_id": max_id,
            "to": "max@elektro-braun.de",
            "body": "Dear Max, we copy Zofia Kowalczyk (Friedrichstraße 123).",
        }
    )
    outbox.enqueue(
        "note:n3",
        "note",
        max_id,
        {"key": "note.note", "user": "U2", "text": "ship to Friedrichstraße 123, 10117 Berlin"},
        NOW,
    )

    assert _files_with_traces(tmp_path)  # the test would prove nothing otherwise
    before_slack = _traces_in(_slack_state(slack_server))
    assert {"kowalczyk", "zofia", "friedrichstra"} <= set(before_slack), before_slack
    assert any(
        c.params.get("thread_ts") and "Any news" in c.params.get("text", "")
        for c in slack_server.calls("chat.postMessage")
    )

    # Right of access sees what forget will erase: Max's inquiry names her, not her address.
    assert subject_export(store, ADDR)["mentioned_in_inquiries"] == [max_id]
    report = forget(tmp_path, store, ADDR, now=NOW, actor="U9ADMIN")
    assert report.inquiries == (zofia,)
    assert report.mentions == (max_id,)
    assert report.meta_redacted >= 2  # the draft and the owed note
    assert report.leftovers == ()
    assert report.slack_updates == 2 + 1 + 2  # two card threads, the channel, two members' DMs
    assert _files_with_traces(tmp_path) == {}  # also while the Slack updates are still owed

    _drain(worker, outbox)
    assert slack_server.calls("chat.update")
    assert _traces_in(_slack_state(slack_server)) == []
    assert _files_with_traces(tmp_path) == {}
    store.close()

    # What is not about her stays: Max, Carlos, and the rest of Max's mail.
    state = _slack_state(slack_server)
    assert "Carlos Ruiz" in state and "Max Braun" in state
    reopened = open_store(tmp_path)
    kept = reopened.require(max_id)
    assert kept.buyer_name == "Max Braun" and "500 LED tubes T8" in kept.messages[0].new_text
    assert "[erased]" in kept.messages[0].new_text and "[erased]" in kept.subject
    assert reopened.require(carlos).buyer_name == "Carlos Ruiz"
    reopened.close()
    assert verify_data_dir(tmp_path).ok  # the erasure is audited like every other change


def test_identity_takes_phones_and_addresses_from_the_signature_only() -> None:
    identity = identity_of(
        ADDR, ["Zofia Kowalczyk"], [SIGNATURE], ["We need 2,000 pcs by 2026-12-01, PO 4500012345"]
    )
    assert identity.phones == ("493098765432",)
    assert identity.addresses == ("Friedrichstraße 123", "10117 Berlin, Germany")
    assert identity.address_parts == ("10117 Berlin",)
    assert identity.name_words == ("zofia", "kowalczyk")
    assert phones_in("Mobile: 0171 2345678, 2,000 pcs, 2026-12-01") == ["01712345678"]


def test_redactor_matches_names_and_numbers_however_written_and_stores_no_text() -> None:
    identity = identity_of(ADDR, ["Zofia Kowalczyk"], [SIGNATURE], keep_words=["Max", "Braun"])
    redactor = Redactor.build(identity)
    assert redactor.redact("Call ZOFIA  kowalczyk on 030 98765432 or 0049 (30) 9876-5432.") == (
        "Call [erased] on [erased] or [erased]."
    )
    assert (
        redactor.redact("Dear Ms Kowalczyk, 2,000 pcs at USD 9.80")
        == "Dear Ms [erased], 2,000 pcs at USD 9.80"
    )
    assert redactor.redact(f"<mailto:{ADDR}|{ADDR.upper()}>") == "<mailto:[erased]|[erased]>"
    assert redactor.mentions("ship to Friedrichstraße 123, 10117 Berlin")
    assert not redactor.mentions("our office is in 10117 Berlin too")  # a postcode alone is no mention
    assert redactor.redact("10117 Berlin") == "[erased]"
    assert not redactor.mentions("Zofia asked")  # a first name alone is not a mention
    payload = json.dumps(redactor.to_payload(), ensure_ascii=False)
    assert _traces_in(payload) == [] and "berlin" not in payload.lower()
    again = Redactor.from_payload(json.loads(payload))
    assert again.redact("Zofia Kowalczyk, Tel +49 30 9876 5432") == "[erased], Tel [erased]"


def test_redactor_matches_a_chinese_name_inside_a_sentence() -> None:
    identity = identity_of("wang.wei@example.cn", ["王伟"], ["王伟\n电话: +86 138 0013 8000"])
    redactor = Redactor.build(identity)
    assert redactor.redact("请联系王伟先生，电话 13800138000") == "请联系[erased]先生，电话 [erased]"


def test_erase_posts_redacts_only_the_bots_tagged_posts_and_survives_refusals(
    tmp_path: Path, slack_server: FakeSlack
) -> None:
    store = open_store(tmp_path, shards=2)
    outbox = Outbox(store)
    chat = SlackChat(WebClient(token="xoxb-test", base_url=slack_server.base_url))
    renderer = Renderer(SlaPolicy(), "en")
    clock = [NOW]
    worker = DeliveryWorker(
        store, outbox, chat, "CINQ", lambda: clock[0], renderer.card, renderer.note, min_interval=0
    )
    ours = chat.post(
        "CINQ",
        "Zofia Kowalczyk called",
        [{"type": "section", "text": {"type": "mrkdwn", "text": "from +49 30 9876 5432"}}],
        tag="note:1",
    )
    other = chat.post("CINQ", "Digest: nothing about her", None, tag="team-digest:x")
    human = chat.post("CINQ", "I spoke to Zofia Kowalczyk")  # not ours: no tag
    card = chat.post("CINQ", "card of Zofia Kowalczyk", [], card_of="1")  # card_update's job
    redactor = Redactor.build(identity_of(ADDR, ["Zofia Kowalczyk"], [SIGNATURE]))

    slack_server.rate_limit(1, retry_after=1, method="chat.update")
    outbox.enqueue(
        "erase-channel:e1:CINQ",
        "erase_posts",
        None,
        {"channel": "CINQ", "oldest": None, "r": redactor.to_payload()},
        NOW,
    )
    worker.run_once()
    assert outbox.pending_count() == 1  # rate-limited: the whole item is tried again later
    clock[0] = NOW + timedelta(seconds=2)
    worker.run_once()
    assert outbox.pending_count() == 0
    msgs = slack_server.messages
    assert msgs[("CINQ", ours)]["text"] == "[erased] called"
    assert msgs[("CINQ", ours)]["blocks"][0]["text"]["text"] == "from [erased]"
    assert msgs[("CINQ", other)]["text"] == "Digest: nothing about her"
    assert msgs[("CINQ", human)]["text"] == "I spoke to Zofia Kowalczyk"
    assert msgs[("CINQ", card)]["text"] == "card of Zofia Kowalczyk"
    assert [c.params["ts"] for c in slack_server.calls("chat.update")] == [ours]

    # A message Slack refuses to update is skipped; the item still completes.
    chat.post("CINQ", "Zofia Kowalczyk again", None, tag="note:2")
    slack_server.fail_method("chat.update", "cant_update_message")
    outbox.enqueue(
        "erase-channel:e2:CINQ",
        "erase_posts",
        None,
        {"channel": "CINQ", "r": redactor.to_payload()},
        clock[0],
    )
    worker.run_once()
    assert outbox.pending_count() == 0 and outbox.dead() == []
    store.close()


def test_our_own_signature_quoted_in_their_mail_is_not_taken_for_theirs(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=2)
    outbox = Outbox(store)
    ingestor = Ingestor(
        store,
        outbox,
        TriageConfig(own_domains=frozenset({"brightway-led.com"})),
        lambda: NOW,
        keep_raw=True,
        sent_folders=frozenset({"Sent"}),
    )
    ours = "Lin Wang\nBrightway LED\nTel: +86 755 8888 9999"
    ingestor.deliver(
        "INBOX",
        Fetched(
            1,
            _mail(
                f"Zofia Kowalczyk <{ADDR}>",
                "Re: Quotation LED panels",
                f"Thanks, we will order 2,000 pcs.\n\n{SIGNATURE}\n"
                "On Tue, 24 Nov 2026, Lin Wang wrote:\n> Please find our quotation.\n> "
                + ours.replace("\n", "\n> ")
                + "\n",
                "<z9@licht-tech.de>",
            ),
            NOW - timedelta(days=1),
        ),
    )
    carlos = ingestor.deliver(
        "INBOX",
        Fetched(
            2,
            _mail(
                "Carlos Ruiz <carlos@iluminacion-ruiz.mx>",
                "Cotización",
                "Necesitamos 500 paneles.",
                "<c9@ruiz.mx>",
            ),
            NOW,
        ),
    ).inquiry_id
    assert carlos
    ingestor.deliver(
        "Sent",
        Fetched(
            3,
            _mail(
                "Lin Wang <sales@brightway-led.com>",
                "Re: Cotización",
                f"Estimado Carlos, adjunto la cotización.\n\n{ours}",
                "<r9@brightway-led.com>",
                in_reply_to="<c9@ruiz.mx>",
            ),
            NOW,
        ),
    )
    before = store.require(carlos)
    assert sum(b"8888 9999" in f.read_bytes() for f in (tmp_path / "mail").rglob("*.eml")) == 2
    report = forget(tmp_path, store, ADDR, now=NOW)
    assert report.mentions == () and report.mail_files == 1  # her mail only
    assert sum(b"8888 9999" in f.read_bytes() for f in (tmp_path / "mail").rglob("*.eml")) == 1  # our reply
    assert store.require(carlos) == before
    store.close()


def test_an_inquiry_that_names_them_only_by_phone_is_found_and_erased(tmp_path: Path) -> None:
    store = open_store(tmp_path, shards=2)
    ingestor = Ingestor(
        store,
        Outbox(store),
        TriageConfig(own_domains=frozenset({"brightway-led.com"})),
        lambda: NOW,
        keep_raw=True,
    )
    ingestor.deliver(
        "INBOX",
        Fetched(
            1,
            _mail(f"Zofia Kowalczyk <{ADDR}>", "RFQ", f"We need 2,000 panels.\n\n{SIGNATURE}", "<z1@l.de>"),
            NOW,
        ),
    )
    ola = ingestor.deliver(
        "INBOX",
        Fetched(
            2,
            _mail(
                "Ola Nordmann <ola@lys.no>",
                "Tubes",
                "Please quote 300 LED tubes. Delivery contact: 0049 30 9876-5432.",
                "<o1@lys.no>",
                cte="base64",
            ),
            NOW,
        ),
    ).inquiry_id
    report = forget(tmp_path, store, ADDR, now=NOW, slack_channels=["CDESK"])
    assert report.mentions == (ola,) and report.mail_files == 2
    assert report.slack_updates == 1  # no card yet: the desk channel is still searched (digests)
    text = store.require(str(ola)).messages[0].new_text
    assert text == "Please quote 300 LED tubes. Delivery contact: [erased]."
    assert _files_with_traces(tmp_path) == {}
    store.close()
