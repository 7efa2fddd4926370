-- search.sql: find transactions by sender, recipient, time, host, status,
-- client address, queue ID or Message-ID (`mailtrail search`).
--
-- What: mailtrail.search(p_from, p_to, p_since, p_until, p_host, p_status,
--   p_client_ip, p_queue_id, p_msgid, p_limit) returns one row per
--   transaction (a row of mailtrail.messages: one queue ID on one host),
--   newest first, with all its delivery attempts as a JSON array.
-- Contract:
--   * Every argument is optional (NULL: no condition); conditions combine
--     with AND. Named arguments work: search(p_from => '@example.org').
--   * p_from / p_to: an address (case-insensitive, angle brackets
--     stripped), '@domain' (exactly that domain, case-insensitive, no
--     subdomains), or '<>' / '' for the null sender. p_to matches when at
--     least one delivery attempt of the transaction went to that recipient
--     (the final address, `to=`; not orig_to=); p_status likewise when an
--     attempt has that status; given together, the same attempt must match
--     both.
--   * p_since / p_until bound received_at (inclusive); p_client_ip is an
--     address or a CIDR network (client_ip <<= it); p_queue_id, p_host
--     exact; p_msgid with or without angle brackets.
--   * Order: received_at DESC, host, queue_id; p_limit NULL = all rows.
--   * deliveries: [{recipient, orig_recipient, at, status, dsn, relay,
--     delay, tls, response, next_queue_id}] ordered by at, recipient (the
--     hop's deliveries as in trace_hop_deliveries); [] when none.
-- Limits: read-only, SECURITY INVOKER, reads the views fact_messages and
--   fact_deliveries (docs/security.md). A plain SQL function, so the planner
--   inlines it and sees constant arguments: give since/until to prune day
--   partitions. The p_to / p_status match needs the delivery's received_at
--   (set when the message's start is in the same log); attempts whose
--   start was not logged are shown but not matched. Sender-domain searches
--   have no index (they read the window's partitions); recipient domains
--   use deliveries_recipient_domain_idx (migration 0003).

CREATE OR REPLACE FUNCTION mailtrail.search(
      p_from       text        DEFAULT NULL
    , p_to         text        DEFAULT NULL
    , p_since      timestamptz DEFAULT NULL
    , p_until      timestamptz DEFAULT NULL
    , p_host       text        DEFAULT NULL
    , p_status     text        DEFAULT NULL
    , p_client_ip  inet        DEFAULT NULL
    , p_queue_id   text        DEFAULT NULL
    , p_msgid      text        DEFAULT NULL
    , p_limit      int         DEFAULT NULL)
    RETURNS TABLE (
          received_at    timestamptz
        , host           text
        , instance       text
        , queue_id       text
        , message_id     text
        , sender         text
        , client_name    text
        , client_ip      inet
        , client_port    int
        , size           bigint
        , nrcpt          int
        , tls_proto      text
        , tls_cipher     text
        , sasl_username  text
        , subject        text
        , deliveries     json)
    LANGUAGE sql
    STABLE
AS $$
    SELECT m.received_at, m.host, m.instance, m.queue_id, m.message_id, m.sender,
           m.client_name, m.client_ip, m.client_port, m.size, m.nrcpt, m.tls_proto, m.tls_cipher,
           m.sasl_username, m.subject,
           COALESCE((SELECT json_agg(json_build_object(
                             'recipient',       d.recipient
                           , 'orig_recipient',  d.orig_recipient
                           , 'at',              mailtrail.trace_rfc3339(d.at)
                           , 'status',          d.status
                           , 'dsn',             d.dsn
                           , 'relay',           json_build_object('name', d.relay_name, 'ip', host(d.relay_ip),
                                                                  'port', d.relay_port)
                           , 'delay',           d.delay
                           , 'tls',             CASE WHEN d.tls_proto IS NULL AND d.tls_cipher IS NULL THEN NULL
                                                     ELSE json_build_object('proto', d.tls_proto, 'cipher', d.tls_cipher) END
                           , 'response',        d.response
                           , 'next_queue_id',   d.next_queue_id)
                         ORDER BY d.at, d.recipient, d.status)
                     FROM mailtrail.trace_hop_deliveries(m.host, m.instance, m.queue_id, m.received_at,
                                                         p_since, p_until + interval '7 days') d),
                    '[]'::json) AS deliveries
    FROM (
        -- Two branches so that, with constant arguments, the planner drops
        -- one and the recipient/status match becomes a semi-join driven by
        -- the deliveries indexes (an EXISTS under OR would be a per-row subplan).
        SELECT x.* FROM mailtrail.fact_messages x
        WHERE p_to IS NULL AND p_status IS NULL
        UNION ALL
        SELECT x.* FROM mailtrail.fact_messages x
        WHERE (p_to IS NOT NULL OR p_status IS NOT NULL)
          AND (x.host, x.instance, x.queue_id, x.received_at) IN (
                SELECT d.host, d.instance, d.queue_id, d.received_at
                FROM mailtrail.fact_deliveries d
                WHERE (p_since IS NULL OR d.at >= p_since)
                  AND (p_until IS NULL OR d.at <= p_until + interval '7 days')
                  AND (p_host IS NULL OR d.host = p_host)
                  AND (p_status IS NULL OR d.status = p_status)
                  AND (p_to IS NULL
                       OR CASE WHEN btrim(p_to) IN ('', '<>') THEN d.recipient = ''
                               WHEN left(btrim(p_to), 1) = '@'
                                   THEN lower(split_part(d.recipient, '@', -1)) = lower(substr(btrim(p_to), 2))
                               ELSE lower(d.recipient) = lower(btrim(btrim(p_to), '<>')) END))
    ) m
    WHERE (p_since IS NULL OR m.received_at >= p_since)
      AND (p_until IS NULL OR m.received_at <= p_until)
      AND (p_host IS NULL OR m.host = p_host)
      AND (p_queue_id IS NULL OR m.queue_id = p_queue_id)
      AND (p_msgid IS NULL OR m.message_id = mailtrail.trace_normalize_msgid(p_msgid))
      AND (p_client_ip IS NULL OR m.client_ip <<= p_client_ip)
      AND (p_from IS NULL
           OR CASE WHEN btrim(p_from) IN ('', '<>') THEN m.sender = ''
                   WHEN left(btrim(p_from), 1) = '@'
                       THEN lower(split_part(m.sender, '@', -1)) = lower(substr(btrim(p_from), 2))
                   ELSE lower(m.sender) = lower(btrim(btrim(p_from), '<>')) END)
    ORDER BY m.received_at DESC, m.host, m.queue_id
    LIMIT p_limit;
$$;

COMMENT ON FUNCTION mailtrail.search(text, text, timestamptz, timestamptz, text, text, inet, text, text, int) IS
    'Transactions matching all given filters, newest first, each with its delivery attempts as JSON: p_from/p_to an address, @domain or <> (null sender); p_since/p_until bound received_at; p_host, p_status (of an attempt), p_client_ip (address or CIDR), p_queue_id, p_msgid; p_limit NULL = all. See docs/querying.md.';
