-- 0001: the desk's store in PostgreSQL (issue #15).
--
-- Every record the desk needs lives here, so several instances on several hosts share one desk
-- and nothing lives only on one host's disk (raw mail included, as bytea).
-- Inquiries keep their whole document as JSONB (the same document TinyDB stores, see
-- bot.adapters.store.codec) beside the columns the desk queries by; the columns are derived from
-- the document on every write, so the document stays the source of truth.

CREATE TABLE inquiries (
    id              bigint PRIMARY KEY,
    doc             jsonb NOT NULL,
    status          text NOT NULL,
    lane            text NOT NULL,
    is_inquiry      boolean NOT NULL,
    is_open         boolean NOT NULL,          -- not won, lost or not-an-inquiry
    owner           text,
    buyer_addr      text NOT NULL DEFAULT '',
    subject_key     text NOT NULL DEFAULT '',
    subject         text NOT NULL DEFAULT '',  -- first 160 characters (the summary's)
    market          text NOT NULL DEFAULT '',
    tier            text,
    created_at      timestamptz NOT NULL,
    sla_started_at  timestamptz,
    answered_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Start-up and the SLA tick read open inquiries only.
CREATE INDEX inquiries_open ON inquiries (id) WHERE is_open AND is_inquiry;
-- Follow-up matching: the newest inquiry of a buyer with this subject.
CREATE INDEX inquiries_thread ON inquiries (buyer_addr, subject_key, id DESC);
-- "Latest inquiry of this buyer" (reputation, history on the card).
CREATE INDEX inquiries_buyer ON inquiries (buyer_addr, id DESC) WHERE is_inquiry;
CREATE INDEX inquiries_owner ON inquiries (owner) WHERE owner IS NOT NULL;
CREATE INDEX inquiries_updated ON inquiries (updated_at);

-- Inquiry ids: shared by every instance, never handed out twice.
CREATE SEQUENCE inquiry_ids START 1;

-- Message-ID -> inquiry: the duplicate check and follow-up threading.
CREATE TABLE inquiry_messages (
    message_id  text PRIMARY KEY,
    inquiry_id  bigint NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE
);
CREATE INDEX inquiry_messages_inquiry ON inquiry_messages (inquiry_id);

-- The events of every inquiry, one row each (also inside the document): for reports.
CREATE TABLE events (
    inquiry_id  bigint NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    n           integer NOT NULL,           -- position in the inquiry's events
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    PRIMARY KEY (inquiry_id, n)
);
CREATE INDEX events_at ON events (at);

-- Owed Slack deliveries. One live row per key (pending or done); dead letters are kept apart
-- from the key's uniqueness so a key can be owed again after it died.
-- Times are epoch seconds like the TinyDB outbox's. Several instances claim due rows with
-- FOR UPDATE SKIP LOCKED and a lease (leased_by, leased_until): a claimed row is not due for
-- anyone else until its lease runs out (the instance died mid-delivery).
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    key           text NOT NULL,
    kind          text NOT NULL,
    inquiry_id    text,
    payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
    attempts      integer NOT NULL DEFAULT 0,
    not_before    double precision NOT NULL,
    created       double precision NOT NULL,
    last_error    text NOT NULL DEFAULT '',
    tried         boolean NOT NULL DEFAULT false,
    low           boolean NOT NULL DEFAULT false,
    once          boolean NOT NULL DEFAULT true,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
    done_at       double precision,
    dead_at       double precision,
    leased_by     text,
    leased_until  double precision
);
CREATE UNIQUE INDEX outbox_key ON outbox (key) WHERE state <> 'dead';
CREATE INDEX outbox_due ON outbox (low, not_before) WHERE state = 'pending';
CREATE INDEX outbox_done_at ON outbox (done_at) WHERE state = 'done';

-- Reply drafts and scheduled sends.
CREATE SEQUENCE draft_ids START 1;
CREATE TABLE drafts (
    id          text PRIMARY KEY,
    inquiry_id  text,
    status      text NOT NULL DEFAULT 'drafted',
    doc         jsonb NOT NULL
);
CREATE INDEX drafts_inquiry ON drafts (inquiry_id);
CREATE INDEX drafts_status ON drafts (status);

-- Mailbox checkpoints: the last UID stored per folder.
CREATE TABLE checkpoints (
    folder       text PRIMARY KEY,
    uidvalidity  bigint NOT NULL,
    last_uid     bigint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Small key/value state (per-user state, counters, markers).
CREATE TABLE meta (
    key    text PRIMARY KEY,
    value  jsonb
);

-- What the team's clicks taught the desk: one row per sender address or company domain.
CREATE TABLE reputation (
    kind    text NOT NULL CHECK (kind IN ('sender', 'domain')),
    key     text NOT NULL,
    record  jsonb NOT NULL,
    PRIMARY KEY (kind, key)
);

-- The text model's counts: one document.
CREATE TABLE text_model (
    id   integer PRIMARY KEY CHECK (id = 1),
    doc  jsonb NOT NULL
);

-- What each member set in the App Home.
CREATE TABLE member_prefs (
    user_id  text PRIMARY KEY,
    doc      jsonb NOT NULL
);
CREATE TABLE home_state (
    user_id  text PRIMARY KEY,
    doc      jsonb NOT NULL
);

-- Raw mail as received, by content hash (sha256 hex). In the database, not on one host's disk:
-- any instance can re-read, export or erase it, and one backup holds everything.
CREATE TABLE raw_mail (
    sha256     text PRIMARY KEY,
    raw        bytea NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);

-- The hash-chained audit log. ``body`` is the canonical JSON that was hashed (without the hash),
-- kept byte for byte so verification recomputes exactly what was written. One writer order:
-- an append takes the transaction-scoped advisory lock of the audit log, reads the head and
-- writes seq + 1, so entries from every instance form one chain.
CREATE TABLE audit (
    seq         bigint PRIMARY KEY CHECK (seq > 0),
    at          timestamptz NOT NULL,
    inquiry_id  text,
    actor       text NOT NULL,
    action      text NOT NULL,
    body        text NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);
CREATE INDEX audit_inquiry ON audit (inquiry_id) WHERE inquiry_id IS NOT NULL;
