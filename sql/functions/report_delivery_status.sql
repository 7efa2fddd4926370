-- report_delivery_status.sql: delivery outcomes per destination domain
-- (`mailtrail report delivery-status`).
--
-- What: mailtrail.report_delivery_status(p_since, p_until, p_host) — per
--   recipient domain: attempts, distinct recipients, attempts by status and
--   the share of final outcomes that were `sent`.
-- Contract: deliveries with `at` in [p_since, p_until] (NULL: unbounded),
--   on p_host when given. final = every status but deferred and softbounce;
--   sent_pct = 100 * sent / final, one decimal, NULL when nothing is final.
--   Ordered by attempts descending, then domain.
-- Limits: counts attempts on every host: an internal relay hop to the same
--   domain counts again on the next host (filter with p_host for one view).

CREATE OR REPLACE FUNCTION mailtrail.report_delivery_status(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          domain      text
        , attempts    bigint
        , recipients  bigint
        , sent        bigint
        , deferred    bigint
        , bounced     bigint
        , expired     bigint
        , other       bigint
        , sent_pct    numeric)
    LANGUAGE sql
    STABLE
AS $$
    SELECT mailtrail.report_domain(d.recipient) AS domain,
           count(*) AS attempts,
           count(DISTINCT lower(d.recipient)) AS recipients,
           count(*) FILTER (WHERE d.status = 'sent') AS sent,
           count(*) FILTER (WHERE d.status = 'deferred') AS deferred,
           count(*) FILTER (WHERE d.status = 'bounced') AS bounced,
           count(*) FILTER (WHERE d.status = 'expired') AS expired,
           count(*) FILTER (WHERE d.status NOT IN ('sent', 'deferred', 'bounced', 'expired')) AS other,
           round(100.0 * count(*) FILTER (WHERE d.status = 'sent')
                 / NULLIF(count(*) FILTER (WHERE d.status NOT IN ('deferred', 'softbounce')), 0), 1) AS sent_pct
    FROM mailtrail.fact_deliveries d
    WHERE (p_since IS NULL OR d.at >= p_since)
      AND (p_until IS NULL OR d.at <= p_until)
      AND (p_host IS NULL OR d.host = p_host)
    GROUP BY 1
    ORDER BY 2 DESC, 1;
$$;

COMMENT ON FUNCTION mailtrail.report_delivery_status(timestamptz, timestamptz, text) IS
    'Delivery attempts per recipient domain: attempts, distinct recipients, sent/deferred/bounced/expired/other, and sent_pct = share of final outcomes (all but deferred/softbounce) that were sent.';
