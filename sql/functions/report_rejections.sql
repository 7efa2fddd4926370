-- report_rejections.sql: the most frequent refusal reasons
-- (`mailtrail report rejections`).
--
-- What: mailtrail.report_rejections(p_since, p_until, p_host) — refusals
--   (NOQUEUE rejects, milter rejects, postscreen, header/body checks)
--   grouped by host, program, action, SMTP code, DSN and reason.
-- Contract: `at` in [p_since, p_until] (NULL: unbounded), on p_host when
--   given; per group: refusals, distinct client addresses, first and last
--   time. Ordered by refusals descending, then the group columns.
-- Limits: reason normalised by mailtrail.report_reason (addresses
--   replaced); DNSBL texts that embed the client address stay separate.

CREATE OR REPLACE FUNCTION mailtrail.report_rejections(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          host       text
        , program    text
        , action     text
        , code       text
        , dsn        text
        , reason     text
        , refusals   bigint
        , clients    bigint
        , first_at   timestamptz
        , last_at    timestamptz)
    LANGUAGE sql
    STABLE
AS $$
    SELECT r.host::text, r.program, r.action, r.code, r.dsn, mailtrail.report_reason(r.reason),
           count(*), count(DISTINCT r.client_ip), min(r.at), max(r.at)
    FROM mailtrail.fact_rejections r
    WHERE (p_since IS NULL OR r.at >= p_since)
      AND (p_until IS NULL OR r.at <= p_until)
      AND (p_host IS NULL OR r.host = p_host)
    GROUP BY 1, 2, 3, 4, 5, 6
    ORDER BY 7 DESC, 1, 2, 3, 4, 5, 6;
$$;

COMMENT ON FUNCTION mailtrail.report_rejections(timestamptz, timestamptz, text) IS
    'Top refusal reasons: rejections grouped by host, program, action, code, dsn and normalised reason, with the number of distinct clients and first/last time.';
