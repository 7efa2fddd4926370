-- trace_json.sql: an e-mail's path across servers as one JSON document.
--
-- What: mailtrail.trace_json(msgid, since, until) and
--   mailtrail.trace_json_by_queue_id(queue_id, host) wrap trace_hops() /
--   trace_hops_by_queue_id() (sql/functions/trace.sql, default skew of 10
--   minutes) and add each hop's deliveries. The Swift `Query` module and
--   `mailtrail trace` read exactly this document.
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
-- The document from the hops of trace_hops_core().
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
    SET jit = off
AS $$
DECLARE
    v_hop         record;
    v_extra       record;
    v_deliveries  jsonb;
    v_hops        jsonb[] := '{}';
BEGIN
/*
 * One deliveries lookup per hop, with the hop's values as parameters: the
 * planner prunes the deliveries partitions to the hop's 7-day lifetime.
 */
    FOR v_hop IN
        SELECT *
        FROM mailtrail.trace_hops_core(p_msgid, p_start_host, p_start_instance, p_start_queue_id,
                                       p_start_received_at, p_since, p_until, p_skew) t
        ORDER BY t.hop
    LOOP
        SELECT COALESCE(jsonb_agg(jsonb_build_object(
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
          INTO v_deliveries
          FROM mailtrail.trace_hop_deliveries(v_hop.host, v_hop.instance, v_hop.queue_id, v_hop.received_at) d;

        -- Columns trace_hops_core does not return (its row type is fixed).
        SELECT m.tls_bits, m.tls_trust, m.subject, m.local_user, m.dkim_result, m.dkim_domain,
               m.spam_verdict, m.spam_score
          INTO v_extra
          FROM mailtrail.fact_messages m
         WHERE m.host = v_hop.host AND m.instance = v_hop.instance AND m.queue_id = v_hop.queue_id
           AND m.received_at = v_hop.received_at
         LIMIT 1;

        v_hops := v_hops || jsonb_build_object(
              'hop',            v_hop.hop
            , 'parents',        to_jsonb(v_hop.parents)
            , 'link',           v_hop.link
            , 'host',           v_hop.host
            , 'instance',       v_hop.instance
            , 'queue_id',       v_hop.queue_id
            , 'received_at',    mailtrail.trace_rfc3339(v_hop.received_at)
            , 'sender',         v_hop.sender
            , 'message_id',     v_hop.message_id
            , 'client',         jsonb_build_object('name', v_hop.client_name,
                                                   'ip',   host(v_hop.client_ip),
                                                   'port', v_hop.client_port)
            , 'size',           v_hop.size
            , 'nrcpt',          v_hop.nrcpt
            , 'tls',            CASE WHEN v_hop.tls_proto IS NULL AND v_hop.tls_cipher IS NULL THEN NULL
                                     ELSE jsonb_build_object('proto', v_hop.tls_proto, 'cipher', v_hop.tls_cipher,
                                                             'bits', v_extra.tls_bits, 'trust', v_extra.tls_trust) END
            , 'sasl_username',  v_hop.sasl_username
            , 'subject',        v_extra.subject
            , 'local_user',     v_extra.local_user
            , 'dkim',           CASE WHEN v_extra.dkim_result IS NULL AND v_extra.dkim_domain IS NULL THEN NULL
                                     ELSE jsonb_build_object('result', v_extra.dkim_result,
                                                             'domain', v_extra.dkim_domain) END
            , 'spam',           CASE WHEN v_extra.spam_verdict IS NULL AND v_extra.spam_score IS NULL THEN NULL
                                     ELSE jsonb_build_object('verdict', v_extra.spam_verdict,
                                                             'score',   v_extra.spam_score) END
            , 'origin',         CASE WHEN v_hop.origin_queue_id IS NULL AND v_hop.origin_kind IS NULL THEN NULL
                                     ELSE jsonb_build_object('queue_id', v_hop.origin_queue_id,
                                                             'kind',     v_hop.origin_kind) END
            , 'deliveries',     v_deliveries);
    END LOOP;

    IF cardinality(v_hops) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('msgid', p_msgid, 'hops', to_jsonb(v_hops));
END
$$;

COMMENT ON FUNCTION mailtrail.trace_json_core(text, text, text, text, timestamptz, timestamptz, timestamptz, interval) IS
    'Internal: the trace document for trace_hops_core() arguments; use trace_json() or trace_json_by_queue_id().';

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
