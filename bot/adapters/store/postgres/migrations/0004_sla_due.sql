-- 0004: the SLA tick asks only for the inquiries that may owe a ping (issue #15, "Known limits":
-- reading every open inquiry's document took 13.3 s and 330 MB per tick at 1,000,000 stored).
--
-- sla_settled: the current SLA cycle's breach is recorded in the document's pings_sent (see
-- bot.desk.ports.sla_settled); such a cycle owes no SLA ping until a new buyer message restarts
-- the clock. Written by the store with the other derived columns. Rows written before this
-- migration start as false ("may be due", so the tick's read is a superset); the store sets it
-- when the tick's read finds a settled one, so the set shrinks after the first tick.
-- The two partial indexes serve PostgresStore.due_candidates (a BitmapOr of two range scans):
-- waiting buyer messages by the time they started waiting, answered ones by our answer's time.
ALTER TABLE inquiries ADD COLUMN sla_settled boolean NOT NULL DEFAULT false;
CREATE INDEX inquiries_sla_due ON inquiries (sla_started_at)
    WHERE is_open AND is_inquiry AND sla_started_at IS NOT NULL AND NOT sla_settled;
CREATE INDEX inquiries_followup_due ON inquiries (answered_at)
    WHERE is_open AND is_inquiry AND sla_started_at IS NULL AND answered_at IS NOT NULL;
