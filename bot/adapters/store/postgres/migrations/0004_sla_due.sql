-- 0004: the SLA tick asks only for the inquiries that may owe a ping (issue #15, "Known limits":
-- reading every open inquiry's document took 13.3 s and 330 MB per tick at 1,000,000 stored).
--
-- Derived from the document by the store on every write, like the other columns
-- (bot.desk.ports: sla_settled, sent_index, cycle_tier):
--   sla_settled  the current SLA cycle's breach is in pings_sent: no SLA ping is owed until a
--                new buyer message restarts the clock;
--   fu_sent      the highest follow-up reminder of the current cycle in pings_sent (0: none);
--                -1 = not derived yet (rows written before this migration: "may be due");
--   fu_tier      the cycle's tier (the inquiry's, else its triage's; NULL: the policy's default).
-- Rows written before 0004 read as "may be due" (a superset); the store derives their columns
-- when the tick's read meets them, so the read shrinks after the first tick. Nothing is
-- rewritten here (constant defaults), so the migration is instant on a large table.
-- The two partial indexes serve PostgresStore.due_candidates (one range scan each):
-- waiting buyer messages by the time they started waiting, answered ones by our answer's time.
ALTER TABLE inquiries
    ADD COLUMN sla_settled boolean NOT NULL DEFAULT false,
    ADD COLUMN fu_sent integer NOT NULL DEFAULT -1,
    ADD COLUMN fu_tier text;
CREATE INDEX inquiries_sla_due ON inquiries (sla_started_at)
    WHERE is_open AND is_inquiry AND sla_started_at IS NOT NULL AND NOT sla_settled;
CREATE INDEX inquiries_followup_due ON inquiries (answered_at)
    WHERE is_open AND is_inquiry AND sla_started_at IS NULL AND answered_at IS NOT NULL;
