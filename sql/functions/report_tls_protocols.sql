-- report_tls_protocols.sql: TLS protocol and cipher distribution
-- (`mailtrail report tls-protocols`).
--
-- What: mailtrail.report_tls_protocols(p_since, p_until, p_host) — per
--   direction, protocol and cipher: network hops and their share of the
--   direction's hops.
-- Contract: over mailtrail.report_tls_hops; plaintext hops have protocol
--   and cipher '(none)'. Ordered by direction, hops descending, protocol,
--   cipher.
-- Limits: see report_tls_hops.

CREATE OR REPLACE FUNCTION mailtrail.report_tls_protocols(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          direction   text
        , tls_proto   text
        , tls_cipher  text
        , hops        bigint
        , pct         numeric)
    LANGUAGE sql
    STABLE
AS $$
    SELECT t.direction, COALESCE(t.tls_proto, '(none)'), COALESCE(t.tls_cipher, '(none)'), count(*),
           round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY t.direction), 1)
    FROM mailtrail.report_tls_hops(p_since, p_until, p_host) t
    GROUP BY 1, 2, 3
    ORDER BY 1, 4 DESC, 2, 3;
$$;

COMMENT ON FUNCTION mailtrail.report_tls_protocols(timestamptz, timestamptz, text) IS
    'Distribution of TLS protocol and cipher per direction over network hops ((none) = plaintext), with the share of the direction''s hops in percent.';
