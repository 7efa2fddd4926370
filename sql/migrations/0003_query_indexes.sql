-- 0003_query_indexes: an index for `mailtrail search --to @domain` and the
-- per-domain reports.
--
-- What: deliveries (lower(split_part(recipient, '@', -1))): the recipient's
--   domain, case-folded (an address without '@' indexes as a whole).
-- Contract: additive only. mailtrail.search() and the reports compare with
--   exactly this expression so the planner can use the index.
-- Limits: one more index on the busiest fact table costs load speed (see
--   docs/schema.md, "Indexes"); sender-domain searches have no index and
--   read the day partitions of their time window. split_part with a
--   negative field number needs PostgreSQL 14 (the minimum anyway).

-- Search by recipient domain ("all mail to @example.net").
CREATE INDEX deliveries_recipient_domain_idx ON mailtrail.deliveries (lower(split_part(recipient, '@', -1)));
