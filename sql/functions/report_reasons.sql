-- report_reasons.sql: the most frequent deferral and bounce reasons
-- (`mailtrail report reasons`).
--
-- What: mailtrail.report_reasons(p_since, p_until, p_host) — delivery
--   attempts that were deferred, bounced, expired or undeliverable, grouped
--   by status, DSN and reason (mailtrail.report_reason of the response).
-- Contract: `at` in [p_since, p_until] (NULL: unbounded), on p_host when
--   given; per group: attempts, distinct recipients, distinct recipient
--   domains, first and last time. Ordered by attempts descending, then
--   status, dsn, reason. No row cap: use LIMIT in SQL or --limit.
-- Limits: grouping relies on report_reason's text normalisation; reasons
--   that embed queue IDs or counters stay separate.

CREATE OR REPLACE FUNCTION mailtrail.report_reasons(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          status      text
        , dsn         text
        , reason      text
        , attempts    bigint
        , recipients  bigint
        , domains     bigint
        , first_at    timestamptz
        , last_at     timestamptz)
    LANGUAGE sql
    STABLE
AS $$
    SELECT d.status, d.dsn, mailtrail.report_reason(d.response) AS reason,
           count(*), count(DISTINCT lower(d.recipient)), count(DISTINCT mailtrail.report_domain(d.recipient)),
           min(d.at), max(d.at)
    FROM mailtrail.fact_deliveries d
    WHERE d.status IN ('deferred', 'bounced', 'expired', 'undeliverable', 'softbounce')
      AND (p_since IS NULL OR d.at >= p_since)
      AND (p_until IS NULL OR d.at <= p_until)
      AND (p_host IS NULL OR d.host = p_host)
    GROUP BY 1, 2, 3
    ORDER BY 4 DESC, 1, 2, 3;
$$;

COMMENT ON FUNCTION mailtrail.report_reasons(timestamptz, timestamptz, text) IS
    'Top deferral and bounce reasons: attempts with status deferred/bounced/expired/undeliverable/softbounce grouped by status, dsn and normalised reason, with counts of recipients and domains and first/last time.';
