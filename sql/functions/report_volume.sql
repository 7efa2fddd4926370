-- report_volume.sql: mail volume per host and UTC day (`mailtrail report volume`).
--
-- What: mailtrail.report_volume(p_since, p_until, p_host) — one row per
--   (day, host) with transactions, recipients, bytes, delivery attempts by
--   outcome and refusals.
-- Contract: messages counted by received_at, deliveries and rejections by
--   their own time, all within [p_since, p_until] (NULL: unbounded) and on
--   p_host when given; a (day, host) appears when any of the three has a
--   row. Ordered by day, host.
-- Limits: a transaction is counted on every host it crosses (one e-mail
--   through three relays is three transactions); recipients = sum of nrcpt.

CREATE OR REPLACE FUNCTION mailtrail.report_volume(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          day           date
        , host          text
        , messages      bigint
        , recipients    bigint
        , bytes         bigint
        , sent          bigint
        , deferred      bigint
        , bounced       bigint
        , other         bigint
        , rejected      bigint)
    LANGUAGE sql
    STABLE
AS $$
    WITH m AS (
        SELECT (m.received_at AT TIME ZONE 'UTC')::date AS day, m.host::text AS host,
               count(*) AS messages, COALESCE(sum(m.nrcpt), 0)::bigint AS recipients,
               COALESCE(sum(m.size), 0)::bigint AS bytes
        FROM mailtrail.fact_messages m
        WHERE (p_since IS NULL OR m.received_at >= p_since)
          AND (p_until IS NULL OR m.received_at <= p_until)
          AND (p_host IS NULL OR m.host = p_host)
        GROUP BY 1, 2
    ), d AS (
        SELECT (d.at AT TIME ZONE 'UTC')::date AS day, d.host::text AS host,
               count(*) FILTER (WHERE d.status = 'sent') AS sent,
               count(*) FILTER (WHERE d.status = 'deferred') AS deferred,
               count(*) FILTER (WHERE d.status IN ('bounced', 'expired')) AS bounced,
               count(*) FILTER (WHERE d.status NOT IN ('sent', 'deferred', 'bounced', 'expired')) AS other
        FROM mailtrail.fact_deliveries d
        WHERE (p_since IS NULL OR d.at >= p_since)
          AND (p_until IS NULL OR d.at <= p_until)
          AND (p_host IS NULL OR d.host = p_host)
        GROUP BY 1, 2
    ), r AS (
        SELECT (r.at AT TIME ZONE 'UTC')::date AS day, r.host::text AS host, count(*) AS rejected
        FROM mailtrail.fact_rejections r
        WHERE (p_since IS NULL OR r.at >= p_since)
          AND (p_until IS NULL OR r.at <= p_until)
          AND (p_host IS NULL OR r.host = p_host)
        GROUP BY 1, 2
    )
    SELECT k.day, k.host,
           COALESCE(m.messages, 0), COALESCE(m.recipients, 0), COALESCE(m.bytes, 0),
           COALESCE(d.sent, 0), COALESCE(d.deferred, 0), COALESCE(d.bounced, 0), COALESCE(d.other, 0),
           COALESCE(r.rejected, 0)
    FROM (SELECT day, host FROM m UNION SELECT day, host FROM d UNION SELECT day, host FROM r) k
    LEFT JOIN m ON m.day = k.day AND m.host = k.host
    LEFT JOIN d ON d.day = k.day AND d.host = k.host
    LEFT JOIN r ON r.day = k.day AND r.host = k.host
    ORDER BY k.day, k.host;
$$;

COMMENT ON FUNCTION mailtrail.report_volume(timestamptz, timestamptz, text) IS
    'Volume per UTC day and host: messages (transactions received), recipients (sum of nrcpt), bytes, delivery attempts sent/deferred/bounced (incl. expired)/other, refusals. Arguments bound the time (NULL: unbounded) and pick a host.';
