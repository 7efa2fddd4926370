-- trace_json.sql: an e-mail's path across servers as one JSON document.
--
-- What: mailtrail.trace_json(msgid, since, until) and
--   mailtrail.trace_json_by_queue_id(queue_id, host) give the hops of
--   trace_hops() / trace_hops_by_queue_id() (sql/functions/trace.sql,
--   default skew of 10 minutes) with each hop's deliveries, all from one
--   call of trace_core(). The Swift `Query` module and `mailtrail trace`
--   read exactly this document.
-- Contract (later versions may add keys, never rename or remove these):
--   {"msgid": text|null,
--    "hops": [{"hop": int, "parents": [int], "link": text|null,
--              "host", "instance", "queue_id", "received_at": RFC 3339,
--              "sender": text|null ("" = null sender <>), "message_id",
--              "client": {"name", "ip", "port"}, "size", "nrcpt",
--              "tls": {"proto", "cipher", "bits", "trust"}|null, "sasl_username",
--              "subject", "local_user", "dkim": {"result", "domain"}|null,
--              "spam": {"verdict", "score"}|null,
--              "origin": {"queue_id", "kind"}|null,
--              "deliveries": [{"recipient", "orig_recipient", "at": RFC 3339,
--                 "status", "dsn", "transport", "router",
--                 "relay": {"name", "ip", "port"}, "delay": seconds|null,
--                 "tls": {"proto", "cipher", "bits", "trust"}|null, "response",
--                 "next_queue_id"}]}]}
--   hops in hop order; deliveries of a hop (trace_hop_deliveries) ordered by
--   at, recipient. Times are UTC "YYYY-MM-DDThh:mm:ssZ", with ".ffffff" only
--   when the fraction is non-zero (= Swift Timestamp.rfc3339). IPs are bare
--   addresses (no /32). NULL (not an empty document) when nothing is found.
--   "msgid" is the normalised id traced (by queue ID: the starting
--   message's id, null when it has none).
-- Limits: jsonb orders an object's keys by length, then bytes, not as
--   written; a large fan-out builds the whole document in memory.

------------------------------------------------------------------------------
-- RFC 3339 text of an instant, as Swift's Timestamp.rfc3339 writes it.
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mailtrail.trace_rfc3339(p_ts timestamptz)
    RETURNS text
    LANGUAGE sql
    STABLE STRICT PARALLEL SAFE
AS $$
    SELECT to_char(p_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN to_char(p_ts AT TIME ZONE 'UTC', 'US') = '000000' THEN ''
                ELSE '.' || to_char(p_ts AT TIME ZONE 'UTC', 'US') END
        || 'Z';
$$;

COMMENT ON FUNCTION mailtrail.trace_rfc3339(timestamptz) IS
    'UTC RFC 3339 text YYYY-MM-DDThh:mm:ss[.ffffff]Z, the fraction only when non-zero (same as Swift Timestamp.rfc3339).';

------------------------------------------------------------------------------
-- The document from the hops of trace_core().
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mailtrail.trace_json_core(
      p_msgid              text            -- id to trace (and to report as "msgid")
    , p_start_host         text
    , p_start_instance     text
    , p_start_queue_id     text
    , p_start_received_at  timestamptz
    , p_since              timestamptz
    , p_until              timestamptz
    , p_skew               interval)
    RETURNS jsonb
    LANGUAGE plpgsql
    STABLE
AS $$
/*
 * trace_core() returns each hop with its messages row and its delivery
 * rows (those of trace_hop_deliveries), so the document is built without
 * reading a table again. PL/pgSQL rather than SQL: the body cannot be
 * inlined (it has a FROM), and a SQL function's body is parsed and planned
 * again at every call, a quarter of a warm trace; PL/pgSQL keeps the plan
 * for the session.
 */
BEGIN
    RETURN (
    SELECT CASE WHEN count(*) = 0 THEN NULL
                ELSE jsonb_build_object('msgid', p_msgid, 'hops', jsonb_agg(h.doc ORDER BY h.hop)) END
    FROM (
        SELECT t.hop, jsonb_build_object(
              'hop',            t.hop
            , 'parents',        to_jsonb(t.parents)
            , 'link',           t.link
            , 'host',           (t.msg).host
            , 'instance',       (t.msg).instance
            , 'queue_id',       (t.msg).queue_id
            , 'received_at',    mailtrail.trace_rfc3339((t.msg).received_at)
            , 'sender',         (t.msg).sender
            , 'message_id',     (t.msg).message_id
            , 'client',         jsonb_build_object('name', (t.msg).client_name,
                                                   'ip',   host((t.msg).client_ip),
                                                   'port', (t.msg).client_port)
            , 'size',           (t.msg).size
            , 'nrcpt',          (t.msg).nrcpt
            , 'tls',            CASE WHEN (t.msg).tls_proto IS NULL AND (t.msg).tls_cipher IS NULL THEN NULL
                                     ELSE jsonb_build_object('proto', (t.msg).tls_proto, 'cipher', (t.msg).tls_cipher,
                                                             'bits', (t.msg).tls_bits, 'trust', (t.msg).tls_trust) END
            , 'sasl_username',  (t.msg).sasl_username
            , 'subject',        (t.msg).subject
            , 'local_user',     (t.msg).local_user
            , 'dkim',           CASE WHEN (t.msg).dkim_result IS NULL AND (t.msg).dkim_domain IS NULL THEN NULL
                                     ELSE jsonb_build_object('result', (t.msg).dkim_result,
                                                             'domain', (t.msg).dkim_domain) END
            , 'spam',           CASE WHEN (t.msg).spam_verdict IS NULL AND (t.msg).spam_score IS NULL THEN NULL
                                     ELSE jsonb_build_object('verdict', (t.msg).spam_verdict,
                                                             'score',   (t.msg).spam_score) END
            , 'origin',         CASE WHEN (t.msg).origin_queue_id IS NULL AND (t.msg).origin_kind IS NULL THEN NULL
                                     ELSE jsonb_build_object('queue_id', (t.msg).origin_queue_id,
                                                             'kind',     (t.msg).origin_kind) END
            , 'deliveries',     (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                                           'recipient',       d.recipient
                                         , 'orig_recipient',  d.orig_recipient
                                         , 'at',              mailtrail.trace_rfc3339(d.at)
                                         , 'status',          d.status
                                         , 'dsn',             d.dsn
                                         , 'transport',       d.transport
                                         , 'relay',           jsonb_build_object('name', d.relay_name,
                                                                                 'ip',   host(d.relay_ip),
                                                                                 'port', d.relay_port)
                                         , 'delay',           d.delay
                                         , 'tls',             CASE WHEN d.tls_proto IS NULL AND d.tls_cipher IS NULL THEN NULL
                                                                   ELSE jsonb_build_object('proto', d.tls_proto, 'cipher', d.tls_cipher,
                                                                                           'bits', d.tls_bits, 'trust', d.tls_trust) END
                                         , 'response',        d.response
                                         , 'next_queue_id',   d.next_queue_id
                                         , 'router',          d.router)
                                         ORDER BY d.at, d.recipient, d.status, d.next_queue_id), '[]'::jsonb)
                                 FROM unnest(t.deliveries) d)) AS doc
        FROM mailtrail.trace_core(p_msgid, p_start_host, p_start_instance, p_start_queue_id,
                                  p_start_received_at, p_since, p_until, p_skew) t
    ) h);
END
$$;

COMMENT ON FUNCTION mailtrail.trace_json_core(text, text, text, text, timestamptz, timestamptz, timestamptz, interval) IS
    'Internal: the trace document for trace_core() arguments; use trace_json() or trace_json_by_queue_id().';

------------------------------------------------------------------------------
-- Public entry points.
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mailtrail.trace_json(
      p_msgid  text
    , p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE sql
    STABLE
AS $$
    SELECT mailtrail.trace_json_core(mailtrail.trace_normalize_msgid(p_msgid), NULL, NULL, NULL, NULL,
                                     p_since, p_until, interval '10 minutes');
$$;

COMMENT ON FUNCTION mailtrail.trace_json(text, timestamptz, timestamptz) IS
    'Path of an e-mail as one JSON document {"msgid", "hops": [{hop, parents, link, host, queue_id, received_at, sender, client, deliveries: [...]}, ...]} (see docs/trace.md); NULL when the message-id is not found.';

CREATE OR REPLACE FUNCTION mailtrail.trace_json_by_queue_id(
      p_queue_id  text
    , p_host      text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE sql
    STABLE
AS $$
    SELECT mailtrail.trace_json_core(s.message_id, s.host, s.instance, s.queue_id, s.received_at,
                                     NULL, NULL, interval '10 minutes')
    FROM mailtrail.trace_start(p_queue_id, p_host) s;
$$;

COMMENT ON FUNCTION mailtrail.trace_json_by_queue_id(text, text) IS
    'Like trace_json(), starting from the latest message with this queue ID (on this host when given); NULL when not found.';
