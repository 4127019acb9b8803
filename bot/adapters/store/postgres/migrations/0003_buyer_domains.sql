-- 0003: start-up asks the store for the known buyer domains (the trust checks' look-alike list)
-- instead of loading every inquiry's summary (issue #15, "start-up must not load every inquiry").
--
-- buyer_domain is derived from buyer_addr by the database (the domain after the last '@', lower
-- case, '' without one: the same rule as bot.desk.ports.domain_of), so no writer can forget it.
-- The partial index lets the distinct domains be read with a skip scan (one index probe per
-- distinct domain, see PostgresStore.buyer_domains): a few thousand domains among a million
-- inquiries are read in milliseconds.
ALTER TABLE inquiries
    ADD COLUMN buyer_domain text
    GENERATED ALWAYS AS (coalesce(lower(substring(buyer_addr FROM '@([^@]*)$')), '')) STORED;
CREATE INDEX inquiries_buyer_domain ON inquiries (buyer_domain) WHERE is_inquiry AND buyer_domain <> '';
