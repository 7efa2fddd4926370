-- report_tls_violations.sql: e-mails that crossed a network hop without
-- TLS 1.2 or newer (`mailtrail report tls-violations`).
--
-- What: mailtrail.report_tls_violations(p_since, p_until, p_host) — one row
--   per e-mail (msg_key) with at least one such hop: its Message-ID and
--   sender (from its earliest transaction), the number of weak hops, and
--   each weak hop as text "host direction peer_name[peer_ip] proto".
-- Contract: hops from mailtrail.report_tls_hops within the bounds and host;
--   hops listed in time order. Ordered by the first weak hop's time, then
--   msg_key. An empty result proves that every network hop in the window
--   used TLS >= 1.2 (as far as the logs tell, see report_tls_hops).
-- Limits: message_id/sender NULL when the e-mail's transaction rows are
--   outside the window.

CREATE OR REPLACE FUNCTION mailtrail.report_tls_violations(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          first_at    timestamptz
        , msg_key     bigint
        , message_id  text
        , sender      text
        , weak_hops   bigint
        , hops        text[])
    LANGUAGE sql
    STABLE
AS $$
    SELECT min(t."time"), t.msg_key,
           (SELECT m.message_id FROM mailtrail.fact_messages m
            WHERE m.msg_key = t.msg_key AND m.received_at >= min(t."time") - interval '7 days'
              AND m.received_at <= max(t."time")
            ORDER BY m.received_at LIMIT 1),
           (SELECT m.sender FROM mailtrail.fact_messages m
            WHERE m.msg_key = t.msg_key AND m.received_at >= min(t."time") - interval '7 days'
              AND m.received_at <= max(t."time")
            ORDER BY m.received_at LIMIT 1),
           count(*),
           array_agg(t.host || ' ' || t.direction || ' ' || COALESCE(t.peer_name, '')
                     || COALESCE('[' || host(t.peer_ip) || ']', '') || ' ' || COALESCE(t.tls_proto, 'no TLS')
                     ORDER BY t."time", t.host, t.direction)
    FROM mailtrail.report_tls_hops(p_since, p_until, p_host) t
    WHERE NOT t.tls_ok
    GROUP BY t.msg_key
    ORDER BY 1, 2;
$$;

COMMENT ON FUNCTION mailtrail.report_tls_violations(timestamptz, timestamptz, text) IS
    'E-mails (per msg_key) that crossed at least one network hop without TLS >= 1.2: first such time, Message-ID, sender, number of weak hops and a text per hop "host direction peer[ip] proto". Empty = every network hop used TLS >= 1.2.';
