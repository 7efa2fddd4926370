-- report_tls.sql: TLS compliance per peer (`mailtrail report tls`).
--
-- What: mailtrail.report_tls(p_since, p_until, p_host) — per direction,
--   host and peer (name and address): network hops, hops with any TLS, with
--   TLS 1.2 or newer, the share of each, and the hops below TLS 1.2.
-- Contract: over mailtrail.report_tls_hops (its rules decide what a hop
--   is); percentages with one decimal. Ordered by direction, host, hops
--   descending, peer name, peer address.
-- Limits: see report_tls_hops (outbound TLS needs the MTA to log it).

CREATE OR REPLACE FUNCTION mailtrail.report_tls(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          direction    text
        , host         text
        , peer_name    text
        , peer_ip      inet
        , hops         bigint
        , with_tls     bigint
        , tls12_plus   bigint
        , tls_pct      numeric
        , tls12_pct    numeric
        , below_tls12  bigint)
    LANGUAGE sql
    STABLE
AS $$
    SELECT t.direction, t.host, t.peer_name, t.peer_ip,
           count(*),
           count(*) FILTER (WHERE t.tls_proto IS NOT NULL),
           count(*) FILTER (WHERE t.tls_ok),
           round(100.0 * count(*) FILTER (WHERE t.tls_proto IS NOT NULL) / count(*), 1),
           round(100.0 * count(*) FILTER (WHERE t.tls_ok) / count(*), 1),
           count(*) FILTER (WHERE NOT t.tls_ok)
    FROM mailtrail.report_tls_hops(p_since, p_until, p_host) t
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 5 DESC, 3, 4;
$$;

COMMENT ON FUNCTION mailtrail.report_tls(timestamptz, timestamptz, text) IS
    'TLS share per direction (inbound/outbound), host and peer: network hops, with any TLS, with TLS >= 1.2, their percentages, and hops below TLS 1.2 (plaintext included).';
