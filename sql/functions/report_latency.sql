-- report_latency.sql: time spent per host and per link, p50/p95
-- (`mailtrail report latency`).
--
-- What: mailtrail.report_latency(p_since, p_until, p_host) — rows of kind
--   'host' (from_host = the host, to_host NULL): the `delay` of its sent
--   deliveries (receipt to hand-off, as the MTA logs it); rows of kind
--   'link' (from_host -> to_host): from a transaction's receipt on one host
--   to the receipt of its next hop (queued-as or content-filter
--   re-injection), i.e. queueing plus transfer.
-- Contract: seconds, rounded to 3 decimals: samples, p50 and p95
--   (percentile_cont) and max. Host rows count sent deliveries with a
--   delay and `at` in [p_since, p_until]; link rows count distinct
--   (parent, child) pairs whose parent was received in the bounds, the
--   child found by the delivery's next_queue_id within +-10 minutes of the
--   delivery (same host only for a child that is a re-injection of the
--   parent or has no origin). p_host picks the host / the link's from_host.
--   Ordered by kind ('host' first), from_host, to_host.
-- Limits: link times include clock skew between hosts (they can be
--   negative); queue IDs reused within 10 minutes on the next host would
--   pair wrongly.

CREATE OR REPLACE FUNCTION mailtrail.report_latency(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          kind       text
        , from_host  text
        , to_host    text
        , samples    bigint
        , p50_s      numeric
        , p95_s      numeric
        , max_s      numeric)
    LANGUAGE sql
    STABLE
AS $$
    WITH host_delays AS (
        SELECT d.host::text AS from_host, NULL::text AS to_host, d.delay::float8 AS s
        FROM mailtrail.fact_deliveries d
        WHERE d.status = 'sent' AND d.delay IS NOT NULL
          AND (p_since IS NULL OR d.at >= p_since)
          AND (p_until IS NULL OR d.at <= p_until)
          AND (p_host IS NULL OR d.host = p_host)
    ), links AS (
        SELECT DISTINCT m.host::text AS from_host, c.host::text AS to_host,
               m.instance, m.queue_id, m.received_at, c.instance AS c_instance, c.queue_id AS c_queue_id,
               extract(epoch FROM c.received_at - m.received_at)::float8 AS s
        FROM mailtrail.fact_messages m
        JOIN mailtrail.fact_deliveries d
          ON d.host = m.host AND d.instance = m.instance AND d.queue_id = m.queue_id
         AND d.received_at = m.received_at AND d.at >= m.received_at
        JOIN mailtrail.fact_messages c
          ON c.queue_id = d.next_queue_id
         AND c.received_at BETWEEN d.at - interval '10 minutes' AND d.at + interval '10 minutes'
         AND (c.host <> m.host OR c.origin_queue_id = m.queue_id OR c.origin_kind IS NULL)
         AND NOT (c.host = m.host AND c.instance = m.instance AND c.queue_id = m.queue_id)
        WHERE d.next_queue_id IS NOT NULL AND d.status = 'sent'
          AND (p_since IS NULL OR m.received_at >= p_since)
          AND (p_until IS NULL OR m.received_at <= p_until)
          AND (p_since IS NULL OR d.at >= p_since)
          AND (p_until IS NULL OR d.at <= p_until + interval '7 days')
          AND (p_since IS NULL OR c.received_at >= p_since - interval '10 minutes')
          AND (p_until IS NULL OR c.received_at <= p_until + interval '7 days')
          AND (p_host IS NULL OR m.host = p_host)
    ), samples AS (
        SELECT 'host'::text AS kind, from_host, to_host, s FROM host_delays
        UNION ALL
        SELECT 'link'::text, from_host, to_host, s FROM links
    )
    SELECT kind, from_host, to_host, count(*),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY s))::numeric, 3),
           round((percentile_cont(0.95) WITHIN GROUP (ORDER BY s))::numeric, 3),
           round(max(s)::numeric, 3)
    FROM samples
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3;
$$;

COMMENT ON FUNCTION mailtrail.report_latency(timestamptz, timestamptz, text) IS
    'Latency in seconds: kind host = delay of sent deliveries per host; kind link = receipt on from_host to receipt of the next hop on to_host (queued-as or re-injection); samples, p50, p95 (percentile_cont) and max.';
