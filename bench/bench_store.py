"""Store at scale: start-up, memory, get/update/find and ingest latency with N stored inquiries.

Run: ``python bench/bench_store.py [--n 100000] [--rebuild] [--keep]``. Prints figures; not a test.

1. Build (or reuse, cached under ``$BENCH_TMP``, default ``/tmp/inquiry-desk-bench``) a store with
   ``N`` realistic inquiries. The builder uses a documented **bulk-load path** (see
   :func:`build_store`): each shard's documents are encoded with the store's own codec and
   written once through :class:`AtomicJSONStorage` (one fsync per shard instead of several per
   inquiry), then ``open_store(data_dir)`` is opened once so its own recovery code builds
   ``index.jsonl`` from the shards. Store semantics are untouched.
2. Copy the pristine store to a scratch directory and measure in a **fresh process**.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    BENCH_TMP,
    LABELLED,
    OWN_DOMAINS,
    SAMPLES,
    GcPauses,
    Row,
    machine_line,
    make_unique,
    median,
    ms,
    percentile,
    print_table,
    rss_mb,
    timed,
)

if TYPE_CHECKING:
    from bot.core.models import Inquiry

BUILDER_VERSION = 3
CHANNEL = "CINQ"
BASE_TIME = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)  # the N inquiries arrived over about three years
USERS = tuple(f"U0SALES{k:02d}" for k in range(12))

# Status mix: 95 % closed, 5 % open.
STATUS_MIX: tuple[tuple[str, float], ...] = (
    ("not_inquiry", 0.30),
    ("lost", 0.40),
    ("won", 0.25),
    ("new", 0.02),
    ("quoted", 0.015),
    ("negotiating", 0.01),
    ("samples", 0.005),
)
MIX_TEXT = "95% closed (30% not_inquiry, 40% lost, 25% won), 5% open (new/quoted/negotiating/samples)"

_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "We are a lighting distributor and would like a quotation for your LED high bay lights.",
        "Please send us your best FOB Shenzhen price for 2,000 pcs of the 150W model with 5 year warranty.",
        "Kindly include MOQ, lead time, packaging details and the available certificates (CE, RoHS, UL).",
        "Our customer is a logistics warehouse in Texas and the project starts in March next year.",
        "Could you also quote samples and the shipping cost by air to Houston?",
        "We currently buy from another supplier and are looking for better quality at a similar price.",
    ),
    "de": (
        "Wir sind Großhändler für Beleuchtung und bitten um ein Angebot für LED-Panels 600x600.",
        "Bitte nennen Sie uns Ihren Preis für 1.500 Stück inklusive Lieferung nach Hamburg.",
        "Wir benötigen außerdem Datenblätter, Zertifikate und die Lieferzeit.",
        "Gibt es Mengenrabatte ab 5.000 Stück und welche Garantie bieten Sie an?",
    ),
    "es": (
        "Somos distribuidores de iluminación en México y necesitamos cotización de reflectores LED.",
        "Por favor envíenos precio FOB para 3,000 piezas de 100W y el tiempo de entrega.",
        "También nos interesa saber si pueden fabricar con nuestra marca (OEM).",
        "Quedamos atentos a su respuesta y catálogo actualizado.",
    ),
    "vi": (
        "Chúng tôi là công ty xây dựng tại Hà Nội, cần báo giá đèn pha LED 200W.",
        "Xin vui lòng gửi giá cho 500 bộ, thời gian giao hàng và chính sách bảo hành.",
        "Chúng tôi cần hàng trước Tết, xin phản hồi sớm.",
    ),
    "zh": (
        "您好，我們是台灣的燈具代理商，想詢問LED天井燈的報價。",
        "請提供150W型號一千台的價格、交期以及保固條件。",
        "另外請附上產品規格書與相關認證，謝謝。",
    ),
    "id": (
        "Kami adalah kontraktor di Jakarta dan membutuhkan penawaran harga lampu LED highbay.",
        "Mohon kirimkan harga untuk 800 unit beserta waktu pengiriman dan garansi.",
        "Apakah produk Anda memiliki sertifikat SNI?",
    ),
    "ar": (
        "نحن شركة مقاولات في دبي ونرغب في الحصول على عرض سعر لمصابيح LED.",
        "يرجى إرسال السعر لكمية 1000 قطعة مع مدة التسليم والضمان.",
        "نحتاج أيضاً إلى شهادات المنتج والكتالوج.",
    ),
}
_LANG_SETUP = {  # language -> (country, market, domain)
    "en": ("US", "US", "lightsupply.com"),
    "de": ("DE", "EU", "licht-handel.de"),
    "es": ("MX", "OTHER", "iluminacion.com.mx"),
    "vi": ("VN", "SEA", "xaydung.vn"),
    "zh": ("TW", "OTHER", "lighting.com.tw"),
    "id": ("ID", "SEA", "kontraktor.co.id"),
    "ar": ("AE", "OTHER", "contracting.ae"),
}
_PRODUCTS = (
    "LED high bay",
    "LED panel 600x600",
    "floodlight 200W",
    "street light",
    "LED tube T8",
    "downlight",
)
_FILTERED = ("auto_reply", "newsletter", "spam", "bounce", "no_reply")


def message_id_of(i: int, seed: int) -> str:
    """The inbound Message-ID the builder gives inquiry ``i`` (the measurement looks ids up)."""
    return f"<{i}.{seed}.bench@mx.buyer.invalid>"


def _text(rng: random.Random, lang: str, lo: int, hi: int) -> str:
    want = rng.randint(lo, hi)
    parts: list[str] = []
    size = 0
    pool = _SENTENCES[lang]
    while size < want:
        s = rng.choice(pool)
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts)[:hi]


def make_bench_inquiry(i: int, n: int, seed: int) -> Inquiry:
    """Inquiry ``i`` of ``n``: deterministic from (i, seed), realistic size and history."""
    from bot.core.models import Category, Event, Inquiry, Market, MessageRecord, Status, Tier, Triage

    rng = random.Random(seed * 1_000_003 + i)
    created = BASE_TIME - SPAN + SPAN * (i / max(1, n)) + timedelta(seconds=rng.randint(0, 3600))
    status = Status(rng.choices([s for s, _ in STATUS_MIX], [w for _, w in STATUS_MIX])[0])
    lang = rng.choice(tuple(_SENTENCES))
    country, market, domain = _LANG_SETUP[lang]
    is_inquiry = status is not Status.NOT_INQUIRY
    buyer = f"buyer{rng.randrange(40_000)}@{domain}"
    subject = f"RFQ {rng.choice(_PRODUCTS)} {rng.randrange(1_000_000)}"
    tier = rng.choice((Tier.A, Tier.B, Tier.B, Tier.C)) if is_inquiry else None
    triage = Triage(
        is_inquiry=is_inquiry,
        category=Category.INQUIRY if is_inquiry else Category(rng.choice(_FILTERED)),
        reason="buyer inquiry: asks for price and quantity" if is_inquiry else "automatic mail",
        language=lang,
        country=country,
        market=Market(market),
        tier=tier,
        sla_hours=4.0 if market == "SEA" else 8.0,
        reasons=tuple(
            rng.sample(
                (
                    f"quantity: {rng.randrange(100, 10_000)} pcs",
                    f"ccTLD .{domain.rsplit('.', 1)[-1]}",
                    f"language {lang} (langdetect 0.99)",
                    "company domain, not free mail",
                    "mentions FOB / lead time",
                ),
                rng.randint(2, 4),
            )
        ),
        company=domain.split(".")[0] if is_inquiry else None,
    )
    inbound = MessageRecord(
        message_id=message_id_of(i, seed),
        direction="in",
        received_at=created,
        from_addr=buyer,
        subject=subject,
        new_text=_text(rng, lang, 500, 1500),
        folder="INBOX",
        uid=i,
    )
    messages: tuple[MessageRecord, ...] = (inbound,)
    answered = is_inquiry and status is not Status.NEW
    answered_at = created + timedelta(hours=rng.uniform(0.5, 10)) if answered else None
    if answered and answered_at is not None:
        messages += (
            MessageRecord(
                message_id=f"<reply.{i}.{seed}@brightway-led.com>",
                direction="out",
                received_at=answered_at,
                from_addr="sales@brightway-led.com",
                subject=f"Re: {subject}",
                new_text=_text(rng, lang, 200, 500),
                folder="Sent",
            ),
        )
    owner = rng.choice(USERS) if is_inquiry and (status is not Status.NEW or rng.random() < 0.5) else None
    events = [Event(created, "mail", "received", triage.reason)]
    if is_inquiry:
        events.append(Event(created + timedelta(seconds=5), "bot", "card_posted", "ts"))
        if owner:
            events.append(Event(created + timedelta(minutes=20), owner, "claimed", owner))
        if rng.random() < 0.3 and owner:
            events.append(Event(created + timedelta(minutes=25), owner, "tier", "B"))
        if answered_at is not None:
            events.append(Event(answered_at, "mail", "replied", "reply sent from a mail client"))
        if status.closed and owner:
            events.append(Event(answered_at or created, owner, "status", status.value))
    else:
        events.append(Event(created + timedelta(seconds=1), "bot", "filtered", triage.category.value))
    events = events[:6]
    return Inquiry(
        id=str(i),
        created_at=created,
        buyer_addr=buyer,
        buyer_name=f"Buyer {i}",
        subject=subject,
        subject_key=subject.casefold(),
        triage=triage,
        status=status,
        owner=owner,
        tier=tier,
        sla_started_at=created if status is Status.NEW else None,
        answered_at=answered_at,
        first_response_at=answered_at,
        card_ts=f"{int(created.timestamp())}.{i % 1_000_000:06d}" if is_inquiry else None,
        card_channel=CHANNEL if is_inquiry else None,
        messages=messages,
        events=tuple(events),
        pings_sent=("sla:50%",) if is_inquiry and rng.random() < 0.2 else (),
    )


@dataclass(frozen=True)
class Built:
    path: Path
    n: int
    seed: int
    shard_write_s: float
    index_rebuild_s: float
    bytes_on_disk: int
    reused: bool


def build_store(data_dir: Path, n: int, *, seed: int = 1, outbox_done: int = 5000) -> Built:
    """Bulk-load ``n`` inquiries into a new store at ``data_dir``.

    Shards are written directly in TinyDB's file layout (``{"inquiries": {doc_id: doc}}``,
    docs from ``bot.adapters.store.codec.inquiry_to_doc``) through ``AtomicJSONStorage.write``, one
    write per shard. Shard mtimes are set an hour back (a store whose shards were written
    earlier), then ``open_store(data_dir)`` is opened once: finding no index, it re-reads every
    shard and writes ``index.jsonl`` (its normal recovery path). ``outbox_done`` delivered
    keys are seeded into the outbox's table (the outbox keeps delivered keys for two weeks and
    prunes only past ``DONE_KEEP``, so a desk that has run a while holds thousands).
    """
    from bot.adapters.store.atomic import AtomicJSONStorage
    from bot.adapters.store.codec import inquiry_to_doc
    from bot.app.store import open_store

    if data_dir.exists():
        shutil.rmtree(data_dir)
    store = open_store(data_dir)
    shards = store.shards
    store.close()
    (data_dir / "store" / "index.jsonl").unlink()  # empty; without it the next open re-indexes
    t0 = time.perf_counter()
    shard_dir = data_dir / "store" / "shards"
    for s in range(shards):
        docs = {}
        for i in range(s if s else shards, n + 1, shards):
            docs[str(i)] = inquiry_to_doc(make_bench_inquiry(i, n, seed))
        if docs:
            AtomicJSONStorage(shard_dir / f"{s:04d}.json").write({"inquiries": docs})
    shard_write_s = time.perf_counter() - t0
    hour_ago = time.time() - 3600
    for p in shard_dir.glob("*.json"):
        os.utime(p, (hour_ago, hour_ago))
    t0 = time.perf_counter()
    store = open_store(data_dir)
    index_rebuild_s = time.perf_counter() - t0
    assert store.count() == n, (store.count(), n)
    now = time.time()
    from bot.adapters.store.outbox import shard_of

    by_shard: dict[int, list[dict[str, object]]] = {}
    for k in range(outbox_done):
        key = f"note:{k}:3"
        by_shard.setdefault(shard_of(key), []).append(
            {"key": key, "at": now - 13 * 86400 * k / max(1, outbox_done)}
        )
    with store.transaction():
        for shard, docs in by_shard.items():
            store.aux(f"outbox-{shard:02d}").table("outbox_done").insert_multiple(docs)
    store.close()
    size = sum(p.stat().st_size for p in (data_dir / "store").rglob("*") if p.is_file())
    built = Built(data_dir, n, seed, shard_write_s, index_rebuild_s, size, reused=False)
    (data_dir / "built.json").write_text(
        json.dumps(
            {
                "version": BUILDER_VERSION,
                "n": n,
                "seed": seed,
                "shard_write_s": shard_write_s,
                "index_rebuild_s": index_rebuild_s,
                "bytes": size,
            }
        )
    )
    return built


def pristine_store(n: int, *, seed: int = 1, rebuild: bool = False) -> Built:
    """The cached pristine store for ``n`` (built when missing, stale or ``rebuild``)."""
    path = BENCH_TMP / f"store-{n}-s{seed}"
    marker = path / "built.json"
    if not rebuild and marker.exists():
        info = json.loads(marker.read_text())
        if info.get("version") == BUILDER_VERSION and info.get("n") == n:
            return Built(
                path, n, seed, info["shard_write_s"], info["index_rebuild_s"], info["bytes"], reused=True
            )
    BENCH_TMP.mkdir(parents=True, exist_ok=True)
    return build_store(path, n, seed=seed)


def working_copy(built: Built, parent: Path) -> Path:
    """A scratch copy of the pristine store (mtimes kept, so the index stays newer than shards)."""
    dest = parent / "data"
    shutil.copytree(built.path, dest)
    return dest


def inquiry_mail() -> list[bytes]:
    """Raw buyer inquiries (bot samples + labelled inquiries) for the ingest measurement."""
    labels = json.loads((LABELLED / "labels.json").read_text("utf-8"))
    raws = [p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))]
    raws += [(LABELLED / name).read_bytes() for name, want in sorted(labels.items()) if want["is_inquiry"]]
    return raws


# --------------------------------------------------------------- measurement
def measure(data_dir: Path, n: int, seed: int, gc_freeze: bool = False) -> dict[str, float]:
    """Runs in a fresh process: every figure of the table, in milliseconds / MB / seconds."""
    out: dict[str, float] = {"rss_before_import_mb": rss_mb()}
    t0 = time.perf_counter()
    from bot.app.store import open_store
    from bot.core.models import Event
    from bot.desk.ingest import Ingestor
    from bot.desk.outbox import Outbox
    from bot.intake.parse import parse_email
    from bot.triage import TriageConfig, warm_up

    out["import_s"] = time.perf_counter() - t0
    out["rss_after_import_mb"] = rss_mb()
    t0 = time.perf_counter()
    store = open_store(data_dir)
    out["startup_s"] = time.perf_counter() - t0
    out["rss_after_startup_mb"] = rss_mb()
    if gc_freeze:  # as the bot does after start-up (bot.app.wiring.run_app)
        gc.collect()
        gc.freeze()
    pauses = GcPauses().__enter__()
    rng = random.Random(seed + 7)

    touch = [str(rng.randint(1, n)) for _ in range(1000)]
    t0 = time.perf_counter()
    for inq_id in touch:
        assert store.get(inq_id) is not None
    out["touch_1000_s"] = time.perf_counter() - t0
    out["rss_after_touch_mb"] = rss_mb()

    ids = [str(rng.randint(1, n)) for _ in range(2000)]
    gets = [timed(lambda i=i: store.get(i)) for i in ids]  # type: ignore[misc]
    out["get_p50"], out["get_p99"] = median(gets), percentile(gets, 99)
    full_gc = [d for g, d in pauses.pauses if g == 2]
    out["gc_full_count"], out["gc_full_max_ms"] = len(full_gc), max(full_gc, default=0.0)
    hot = [timed(lambda: store.get(ids[-1])) for _ in range(500)]
    out["get_hot_p50"] = median(hot)

    now = datetime.now(UTC)

    def note(inq: object) -> object:
        return replace(inq, events=(*inq.events, Event(now, "UBENCH", "note", "bench")))  # type: ignore[attr-defined,type-var]

    upd_ids = [str(rng.randint(1, n)) for _ in range(1000)]
    updates = [timed(lambda i=i: store.update(i, note)) for i in upd_ids]  # type: ignore[arg-type,misc]
    out["update_p50"], out["update_p99"] = median(updates), percentile(updates, 99)

    mids = [message_id_of(rng.randint(1, n), seed) for _ in range(2000)]
    finds = [timed(lambda m=m: store.find_by_message_id(m)) for m in mids]  # type: ignore[misc]
    out["find_p50"], out["find_p99"] = median(finds), percentile(finds, 99)
    assert all(store.find_by_message_id(m) is not None for m in mids[:20])
    misses = [timed(lambda k=k: store.find_by_message_id(f"<unknown-{k}@x>")) for k in range(2000)]  # type: ignore[misc]
    out["find_miss_p50"] = median(misses)

    adds = []
    for _ in range(200):
        new = make_bench_inquiry(int(store.next_id()), n, seed)
        adds.append(timed(lambda new=new: store.add(new)))  # type: ignore[misc]
    out["add_p50"], out["add_p99"] = median(adds), percentile(adds, 99)

    warm_up()
    outbox = Outbox(store)
    ingestor = Ingestor(store, outbox, TriageConfig(own_domains=OWN_DOMAINS), lambda: datetime.now(UTC))
    raws = inquiry_mail()
    ingests: list[float] = []
    outcomes: dict[str, int] = {}
    for k in range(500):
        email = parse_email(make_unique(raws[k % len(raws)], 900_000 + k))
        t0 = time.perf_counter()
        result = ingestor.ingest(email, datetime.now(UTC))
        ingests.append((time.perf_counter() - t0) * 1000.0)
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        for item in outbox.due(datetime.now(UTC) + timedelta(days=1)):  # the worker's part, untimed
            outbox.done(item.key, datetime.now(UTC))
    out["ingest_p50"], out["ingest_p99"] = median(ingests), percentile(ingests, 99)
    for outcome, count in outcomes.items():
        out[f"ingest_outcome_{outcome}"] = count
    out["rss_end_mb"] = rss_mb()
    pauses.__exit__()
    store.close()
    return out


def report(built: Built, m: dict[str, float], gc_freeze: bool = False) -> None:
    n = built.n
    scale = n / 100_000
    rows = [
        Row("stored inquiries", f"{n:,}", ""),
        Row(
            "store size on disk",
            f"{built.bytes_on_disk / 1e6:.0f} MB ({built.bytes_on_disk / n:.0f} B/inquiry)",
        ),
        Row(
            "bulk load: shard files written",
            f"{built.shard_write_s:.1f} s" + (" (cached build)" if built.reused else ""),
        ),
        Row(
            "bulk load: index rebuilt from shards", f"{built.index_rebuild_s:.1f} s (also = recovery if lost)"
        ),
        Row("import bot.adapters.store/ingest/triage", f"{m['import_s']:.2f} s"),
        Row("start-up: open_store(data_dir) ready", f"{m['startup_s']:.2f} s", "< 3 s", m["startup_s"] < 3),
        Row("RSS after imports", f"{m['rss_after_import_mb']:.0f} MB"),
        Row(
            "RSS after start-up",
            f"{m['rss_after_startup_mb']:.0f} MB",
            "< 300 MB" if scale == 1 else "",
            m["rss_after_startup_mb"] < 300 if scale == 1 else None,
        ),
        Row(
            "RSS after touching 1,000 random inquiries",
            f"{m['rss_after_touch_mb']:.0f} MB",
            "< 300 MB" if scale == 1 else "",
            m["rss_after_touch_mb"] < 300 if scale == 1 else None,
        ),
        Row("touching 1,000 random inquiries", f"{m['touch_1000_s']:.2f} s"),
        Row("get by id, random (2,000) p50", ms(m["get_p50"]), "< 5 ms", m["get_p50"] < 5),
        Row("get by id, random p99", ms(m["get_p99"])),
        Row("get by id, same id again (cached shard) p50", ms(m["get_hot_p50"])),
        Row(
            "full GC collections up to the get timing"
            + (" (gc.freeze() after start-up)" if gc_freeze else ""),
            f"{int(m['gc_full_count'])}, longest {m['gc_full_max_ms']:.0f} ms",
        ),
        Row("update by id, random (1,000) p50", ms(m["update_p50"]), "< 5 ms", m["update_p50"] < 5),
        Row("update by id, random p99", ms(m["update_p99"])),
        Row("find_by_message_id, known (2,000) p50", ms(m["find_p50"]), "< 5 ms", m["find_p50"] < 5),
        Row("find_by_message_id, known p99", ms(m["find_p99"])),
        Row("find_by_message_id, unknown p50", ms(m["find_miss_p50"])),
        Row("Store.add of a new inquiry (200) p50", ms(m["add_p50"])),
        Row(
            f"  so loading {n:,} one Store.add at a time would take about",
            f"{n * m['add_p50'] / 2 / 60000:.0f} min (shards grow linearly: ~half the p50 on average)",
        ),
        Row("Ingestor.ingest new mail (500) p50", ms(m["ingest_p50"]), "< 20 ms", m["ingest_p50"] < 20),
        Row("Ingestor.ingest p99", ms(m["ingest_p99"])),
        Row(
            "ingest outcomes",
            ", ".join(
                f"{k[len('ingest_outcome_') :]}={int(v)}"
                for k, v in m.items()
                if k.startswith("ingest_outcome_")
            ),
        ),
        Row("RSS at the end", f"{m['rss_end_mb']:.0f} MB"),
    ]
    print(f"status mix: {MIX_TEXT}")
    print_table(f"Store with {n:,} inquiries (fresh process)", rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=100_000, help="stored inquiries (default 100,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached pristine store")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy and print its path")
    parser.add_argument(
        "--no-gc-freeze",
        dest="gc_freeze",
        action="store_false",
        help="skip gc.freeze() after start-up (the bot does freeze, in bot.app.wiring.run_app)",
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child mode: a data dir
    args = parser.parse_args(argv)

    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.n, args.seed, args.gc_freeze)))
        return 0

    print(f"bench_store: {machine_line()}")
    t0 = time.perf_counter()
    built = pristine_store(args.n, seed=args.seed, rebuild=args.rebuild)
    print(
        f"store {'reused from' if built.reused else 'built at'} {built.path}",
        f"in {time.perf_counter() - t0:.1f} s",
    )
    scratch = Path(tempfile.mkdtemp(prefix="bench-store-", dir=BENCH_TMP))
    try:
        data = working_copy(built, scratch)
        cmd = [sys.executable, __file__, "--measure", str(data), "--n", str(args.n), "--seed", str(args.seed)]
        cmd += [] if args.gc_freeze else ["--no-gc-freeze"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return 1
        report(built, json.loads(proc.stdout.strip().splitlines()[-1]), args.gc_freeze)
    finally:
        if args.keep:
            print(f"scratch store kept at {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
