-- report_tls_hops.sql: every network hop of every message with its TLS
-- facts, the base of the TLS reports and of mailtrail.bi_tls_hops.
--
-- What: mailtrail.report_tls_hops(p_since, p_until, p_host) — one row per
--   inbound transaction (messages row whose client is a network address)
--   and per outbound delivery that crossed the network (a `sent` attempt
--   to a relay with an IP address).
-- Contract: loopback peers (content filters) and peers without an IP
--   address (pickup, local, LMTP over a Unix socket) are not network hops
--   and are left out. time = received_at (inbound) or at (outbound), in
--   [p_since, p_until] (NULL: unbounded); p_host picks a host. tls_ok =
--   TLS 1.2 or newer (mailtrail.report_tls_ok); a hop without TLS has
--   tls_proto NULL and tls_ok false.
-- Limits: outbound TLS is known only when the MTA logs it with the
--   delivery (Postfix 3.11 tls=, Exim X=, Sendmail tls_verify/cipher,
--   or a TLS line the correlator attached); otherwise the hop counts as
--   without TLS. Deferred and bounced attempts are not hops (no mail
--   crossed), so a peer that refuses mail does not show here.

CREATE OR REPLACE FUNCTION mailtrail.report_tls_hops(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          "time"      timestamptz
        , direction   text
        , host        text
        , queue_id    text
        , msg_key     bigint
        , peer_name   text
        , peer_ip     inet
        , tls_proto   text
        , tls_cipher  text
        , tls_bits    int
        , tls_trust   text
        , tls_ok      boolean)
    LANGUAGE sql
    STABLE
AS $$
    SELECT m.received_at, 'inbound'::text, m.host::text, m.queue_id::text, m.msg_key,
           m.client_name, m.client_ip, m.tls_proto, m.tls_cipher, m.tls_bits, m.tls_trust,
           mailtrail.report_tls_ok(m.tls_proto)
    FROM mailtrail.fact_messages m
    WHERE m.client_ip IS NOT NULL
      AND NOT mailtrail.trace_is_loopback(m.client_ip)
      AND (p_since IS NULL OR m.received_at >= p_since)
      AND (p_until IS NULL OR m.received_at <= p_until)
      AND (p_host IS NULL OR m.host = p_host)
    UNION ALL
    SELECT d.at, 'outbound'::text, d.host::text, d.queue_id::text, d.msg_key,
           d.relay_name, d.relay_ip, d.tls_proto, d.tls_cipher, d.tls_bits, d.tls_trust,
           mailtrail.report_tls_ok(d.tls_proto)
    FROM mailtrail.fact_deliveries d
    WHERE d.status = 'sent'
      AND d.relay_ip IS NOT NULL
      AND NOT mailtrail.trace_is_loopback(d.relay_ip)
      AND (p_since IS NULL OR d.at >= p_since)
      AND (p_until IS NULL OR d.at <= p_until)
      AND (p_host IS NULL OR d.host = p_host);
$$;

COMMENT ON FUNCTION mailtrail.report_tls_hops(timestamptz, timestamptz, text) IS
    'Every network hop (inbound transaction from a non-loopback client address; outbound sent delivery to a non-loopback relay address) with its TLS protocol, cipher, bits, trust and tls_ok (TLS >= 1.2).';
