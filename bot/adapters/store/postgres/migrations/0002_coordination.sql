-- 0002: several instances on one desk (issue #15): scheduled work done once, shared pacing.
--
-- Leadership (a mailbox folder's watcher, a scheduled job) needs no table: it is a session-level
-- advisory lock held on a dedicated connection, so it dies with the instance.

-- A job's run for one period (a day's anchor, an hour's retention pass), claimed by the first
-- instance: INSERT … ON CONFLICT DO NOTHING.
CREATE TABLE jobs_done (
    job       text NOT NULL,
    period    text NOT NULL,
    instance  text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, period)
);
CREATE INDEX jobs_done_at ON jobs_done (at);

-- Slack allows about one message per second per channel, across every instance: each post
-- reserves the channel's next slot (epoch seconds of the database clock) in one upsert.
CREATE TABLE post_pacing (
    channel  text PRIMARY KEY,
    next_at  double precision NOT NULL
);
