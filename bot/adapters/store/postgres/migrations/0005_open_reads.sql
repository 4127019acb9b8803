-- 0005: the App Home queue, the owner digests and the breached list of /inquiries ask for the
-- open inquiries they show instead of every open one (issue #15, "Known limits": reading every
-- open inquiry's document took 13 s and 330 MB per call at 1,000,000 stored).
--
-- Partial indexes over the open inquiries only (5 % of the rows in the benchmark's mix), one per
-- shape of PostgresStore.open_where / count_open (bot.desk.ports.OpenQuery):
--   inquiries_open_owner    one member's or the unclaimed ones, newest or oldest first; the
--                           counts by owner (App Home, the digest's owners) as an index-only scan;
--   inquiries_open_created  every open inquiry newest (or oldest) first: /inquiries open;
--   inquiries_open_idle     those with no clock running (no buyer message waits) by arrival:
--                           the App Home's rows after the running clocks, a page at a time;
--   inquiries_open_waiting  the waiting ones by the time they started waiting: the Home's
--                           soonest deadlines and the breach / at-risk candidates before a cut-off.
CREATE INDEX inquiries_open_owner ON inquiries (owner, created_at, id) WHERE is_open AND is_inquiry;
CREATE INDEX inquiries_open_created ON inquiries (created_at, id) WHERE is_open AND is_inquiry;
CREATE INDEX inquiries_open_idle ON inquiries (created_at, id) INCLUDE (owner, market)
    WHERE is_open AND is_inquiry AND sla_started_at IS NULL;
-- Its predicate says "open" by the status (as open_conditions does for waiting rows), not by
-- is_open: the SLA tick's query (0004, is_open AND NOT sla_settled) cannot use it, so the
-- planner never swaps 0004's inquiries_sla_due for this wider index (they tie on small or fresh
-- tables). The counts read it alone (index-only).
CREATE INDEX inquiries_open_waiting ON inquiries (sla_started_at) INCLUDE (id, market, owner)
    WHERE is_inquiry AND status NOT IN ('won', 'lost', 'not_inquiry') AND sla_started_at IS NOT NULL;
