-- trace.sql: rebuild an e-mail's path across servers from the stored facts.
--
-- What: mailtrail.trace_hops(msgid, since, until, skew) and
--   mailtrail.trace_hops_by_queue_id(queue_id, host, since, until, skew)
--   return one row per hop (= one row of mailtrail.messages: one transaction
--   on one host) with the hops it came from (parents) and the evidence that
--   linked them (link). trace_core (trace_core.sql: closure, parents, numbering;
--   PL/pgSQL) returns the same hops with their messages row and delivery
--   rows, for trace_json. Internal helpers: trace_normalize_msgid,
--   trace_hop_deliveries, trace_is_loopback, trace_name_is_host,
--   trace_start, trace_hops_core. docs/trace.md explains the design.
-- Contract:
--   * Hop set: every message row with the traced message-id (angle brackets
--     and surrounding blanks stripped; received within [since, until] when
--     given), closed transitively (downstream only) over
--       (a) queued-as: a delivery of a hop whose next_queue_id = Q, and a
--           message with queue_id Q on another host, or on the same host with
--           origin_kind NULL, received within delivery.at +- skew; link
--           'queued-as' (other host) or 'reinjection' (same host); a row
--           with the traced id that fits wins over other candidates;
--       (b) origin: a message on the same host whose origin_queue_id is the
--           hop's queue_id, received 0..5 days after it (not past a reuse of
--           the queue ID); link = its origin_kind (reinjection, bounce,
--           requeue, forward);
--       and every row carrying a message-id that a hop reached through (a)/(b)
--       introduced (a bounce's own id), received from that hop on (- skew).
--   * Parents, strongest level only:
--       (a)/(b) as above >
--       (c) msgid+address: same message-id, and a `sent` delivery of the
--           parent within skew of the child's receipt went to the child: its
--           relay IP/name is the child's client IP/name (loopback only on the
--           same host), or its relay name names the child's host; failing
--           those, the child's client name or HELO names the parent's host
--           (a name names a host when equal, or equal up to the first dot) >
--       (d) msgid+time: same message-id, the latest hop on another host
--           received before the child, tolerating skew (see trace_hops_core).
--     No evidence: parents = {}, link NULL (a root).
--   * hop numbers are 1-based in (received_at, host, queue_id, instance)
--     order, except that a hop never comes before one of its parents (clock
--     skew): the sort key is the latest received_at on any path from a root,
--     then the path depth, then the hop's own columns.
--   * p_since / p_until bound the message-id lookup. Everything else stays
--     in a window from the first row found (minus skew) to 14 days after the
--     last one. Each lookup also gets bounds of its own (a hop's 7-day
--     lifetime, a delivery's time +- skew, ...) as constants, so the planner
--     plans and opens only the day partitions it can touch.
-- Limits: read-only, SECURITY INVOKER; the facts are read through the views
--   fact_messages / fact_deliveries (the caller needs SELECT on those). The
--   closure is downstream only: tracing a bounce's message-id does not pull
--   in the message it bounces. Hops more than 14 days after the last row of
--   the traced id are not followed. Without an index on messages (queue_id),
--   a queued-as lookup that no traced row satisfies, and a trace by queue ID
--   without host, scan the partitions of the window; the same holds for (b)
--   lookups without an index on messages (host, origin_queue_id) (they are
--   only made for hops that left the traced id or have a non-`sent`
--   delivery, i.e. could have caused a bounce). msgid+time is weak evidence
--   and cannot tell forks apart when no delivery hints at them. Mail loops
--   can make parents cyclic; hop numbering then falls back to time order
--   for the hops on the cycle.

------------------------------------------------------------------------------
-- Message-ID as stored: without <>, without surrounding blanks; NULL if empty.
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mailtrail.trace_normalize_msgid(p_msgid text)
    RETURNS text
    LANGUAGE sql
    IMMUTABLE PARALLEL SAFE
AS $$
    SELECT NULLIF(btrim(btrim(p_msgid, E' \t\r\n'), '<>'), '');
$$;

COMMENT ON FUNCTION mailtrail.trace_normalize_msgid(text) IS
    'Message-ID as stored in messages.message_id: blanks and angle brackets around it stripped; NULL when empty.';

------------------------------------------------------------------------------
-- The delivery rows of one hop.
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mailtrail.trace_hop_deliveries(
      p_host         text
    , p_instance     text
    , p_queue_id     text
    , p_received_at  timestamptz
    , p_from         timestamptz    -- optional outer bounds on `at` (NULL: none),
    , p_to           timestamptz)   -- for plan-time partition pruning in callers
    RETURNS SETOF mailtrail.deliveries
    LANGUAGE sql
    STABLE PARALLEL SAFE
AS $$
/*
 * A delivery belongs to a hop when (host, instance, queue_id) match and its
 * received_at equals the hop's, or its received_at is NULL (start of the
 * message not in the log the delivery came from) and it lies within the
 * hop's lifetime: from the hop's received_at to the next message row with
 * the same queue ID (queue-ID reuse), at most 7 days (the correlator's
 * horizon). The 7-day bound on `at` prunes deliveries partitions when the
 * hop is a constant; p_from/p_to do it when it is not (a lateral join).
 * Plain SQL with one SELECT, so the planner inlines it into callers.
 */
    SELECT d.*
    FROM mailtrail.fact_deliveries d
    WHERE d.host = p_host
      AND d.instance = p_instance
      AND d.queue_id = p_queue_id
      AND d.at >= p_received_at
      AND d.at < p_received_at + interval '7 days'
      AND d.at >= COALESCE(p_from, '-infinity'::timestamptz)
      AND d.at <= COALESCE(p_to, 'infinity'::timestamptz)
      AND (d.received_at = p_received_at
           OR (d.received_at IS NULL
               AND d.at < COALESCE(
                       (SELECT min(r.received_at)
                        FROM mailtrail.fact_messages r
                        WHERE r.host = p_host
                          AND r.instance = p_instance
                          AND r.queue_id = p_queue_id
                          AND r.received_at > p_received_at
                          AND r.received_at < p_received_at + interval '7 days'
                          AND r.received_at >= COALESCE(p_from, '-infinity'::timestamptz)
                          AND r.received_at <= COALESCE(p_to, 'infinity'::timestamptz))
                     , 'infinity')));
$$;

COMMENT ON FUNCTION mailtrail.trace_hop_deliveries(text, text, text, timestamptz, timestamptz, timestamptz) IS
    'Delivery rows of the hop (host, instance, queue_id, received_at) with `at` in [p_from, p_to] (NULL: unbounded): same received_at, or NULL received_at within the hop''s lifetime (until the queue ID is reused, at most 7 days).';

CREATE OR REPLACE FUNCTION mailtrail.trace_hop_deliveries(
      p_host         text
    , p_instance     text
    , p_queue_id     text
    , p_received_at  timestamptz)
    RETURNS SETOF mailtrail.deliveries
    LANGUAGE sql
    STABLE PARALLEL SAFE
AS $$
    SELECT * FROM mailtrail.trace_hop_deliveries(p_host, p_instance, p_queue_id, p_received_at, NULL, NULL);
$$;

COMMENT ON FUNCTION mailtrail.trace_hop_deliveries(text, text, text, timestamptz) IS
    'Delivery rows of the hop (host, instance, queue_id, received_at): same received_at, or NULL received_at within the hop''s lifetime (until the queue ID is reused, at most 7 days).';

------------------------------------------------------------------------------
-- Loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104)? NULL gives false.
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mailtrail.trace_is_loopback(p_ip inet)
    RETURNS boolean
    LANGUAGE sql
    IMMUTABLE PARALLEL SAFE
AS $$
    SELECT COALESCE(p_ip <<= inet '127.0.0.0/8'
                    OR p_ip = inet '::1'
                    OR p_ip <<= inet '::ffff:127.0.0.0/104', false);
$$;

COMMENT ON FUNCTION mailtrail.trace_is_loopback(inet) IS
    'Internal: true for loopback addresses (127.0.0.0/8, ::1, IPv4-mapped loopback); false for NULL.';

------------------------------------------------------------------------------
-- Does a logged name (relay=, client=, helo=) name a syslog host?
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mailtrail.trace_name_is_host(p_name text, p_host text)
    RETURNS boolean
    LANGUAGE sql
    IMMUTABLE PARALLEL SAFE
AS $$
/*
 * Case-insensitively equal, or equal up to the first dot of the longer one
 * ("mx3.example.com" names host "mx3" and vice versa). Never for the
 * placeholders Postfix logs instead of a name. NULL input gives false.
 */
    SELECT COALESCE(
               lower(p_name) NOT IN ('unknown', 'localhost', 'none', 'local', '')
           AND (lower(p_name) = lower(p_host)
                OR left(lower(p_name), length(p_host) + 1) = lower(p_host) || '.'
                OR left(lower(p_host), length(p_name) + 1) = lower(p_name) || '.')
         , false);
$$;

COMMENT ON FUNCTION mailtrail.trace_name_is_host(text, text) IS
    'Internal: true when a logged peer name names the syslog host (equal, or equal up to the first dot, case-insensitive; never unknown/localhost/none/local).';

------------------------------------------------------------------------------
-- The hops as rows of their own (trace_hops, trace_hops_by_queue_id).
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mailtrail.trace_hops_core(
      p_msgid              text
    , p_start_host         text
    , p_start_instance     text
    , p_start_queue_id     text
    , p_start_received_at  timestamptz
    , p_since              timestamptz
    , p_until              timestamptz
    , p_skew               interval)
    RETURNS TABLE (
          hop              int
        , parents          int[]
        , link             text
        , host             text
        , instance         text
        , queue_id         text
        , received_at      timestamptz
        , sender           text
        , message_id       text
        , client_name      text
        , client_ip        inet
        , client_port      int
        , size             bigint
        , nrcpt            int
        , tls_proto        text
        , tls_cipher       text
        , sasl_username    text
        , origin_queue_id  text
        , origin_kind      text)
    LANGUAGE sql
    STABLE
    ROWS 20
AS $$
    SELECT t.hop, t.parents, t.link,
           (t.msg).host::text, (t.msg).instance::text, (t.msg).queue_id::text, (t.msg).received_at,
           (t.msg).sender, (t.msg).message_id::text, (t.msg).client_name, (t.msg).client_ip,
           (t.msg).client_port, (t.msg).size, (t.msg).nrcpt, (t.msg).tls_proto, (t.msg).tls_cipher,
           (t.msg).sasl_username, (t.msg).origin_queue_id::text, (t.msg).origin_kind
    FROM mailtrail.trace_core(p_msgid, p_start_host, p_start_instance, p_start_queue_id, p_start_received_at,
                              p_since, p_until, p_skew) t
    ORDER BY t.hop;
$$;

COMMENT ON FUNCTION mailtrail.trace_hops_core(text, text, text, text, timestamptz, timestamptz, timestamptz, interval) IS
    'Internal: hops of a trace from a message-id and/or one starting hop; use trace_hops() or trace_hops_by_queue_id().';

------------------------------------------------------------------------------
-- Public entry points.
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mailtrail.trace_hops(
      p_msgid  text
    , p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_skew   interval    DEFAULT '10 minutes')
    RETURNS TABLE (
          hop              int
        , parents          int[]
        , link             text
        , host             text
        , instance         text
        , queue_id         text
        , received_at      timestamptz
        , sender           text
        , message_id       text
        , client_name      text
        , client_ip        inet
        , client_port      int
        , size             bigint
        , nrcpt            int
        , tls_proto        text
        , tls_cipher       text
        , sasl_username    text
        , origin_queue_id  text
        , origin_kind      text)
    LANGUAGE sql
    STABLE
AS $$
    SELECT *
    FROM mailtrail.trace_hops_core(mailtrail.trace_normalize_msgid(p_msgid),
                                   NULL, NULL, NULL, NULL, p_since, p_until, p_skew);
$$;

COMMENT ON FUNCTION mailtrail.trace_hops(text, timestamptz, timestamptz, interval) IS
    'Path of an e-mail across servers: one row per hop (message row) with the message-id (<> optional), its parents (hop numbers) and the evidence that linked them (link: queued-as, reinjection, bounce, requeue, forward, msgid+address, msgid+time; NULL for a root). Bounds limit the message-id lookup; skew is the tolerated clock difference between hosts.';

-- The starting message of a trace by queue ID: the latest one with that
-- queue ID (on p_host when given) received within the bounds.
CREATE OR REPLACE FUNCTION mailtrail.trace_start(
      p_queue_id  text
    , p_host      text        DEFAULT NULL
    , p_since     timestamptz DEFAULT NULL
    , p_until     timestamptz DEFAULT NULL)
    RETURNS TABLE (host text, instance text, queue_id text, received_at timestamptz, message_id text)
    LANGUAGE plpgsql
    STABLE
    SET jit = off
AS $$
#variable_conflict use_column
BEGIN
/*
 * Two statements, so that each gets the best use of the (queue_id, host)
 * index: both columns when the host is known, the leading column otherwise.
 */
    IF p_host IS NOT NULL THEN
        RETURN QUERY
        SELECT m.host::text, m.instance::text, m.queue_id::text, m.received_at, m.message_id::text
        FROM mailtrail.fact_messages m
        WHERE m.host = p_host
          AND m.queue_id = btrim(p_queue_id)
          AND m.received_at >= COALESCE(p_since, '-infinity'::timestamptz)
          AND m.received_at <= COALESCE(p_until, 'infinity'::timestamptz)
        ORDER BY m.received_at DESC, m.instance
        LIMIT 1;
    ELSE
        RETURN QUERY
        SELECT m.host::text, m.instance::text, m.queue_id::text, m.received_at, m.message_id::text
        FROM mailtrail.fact_messages m
        WHERE m.queue_id = btrim(p_queue_id)
          AND m.received_at >= COALESCE(p_since, '-infinity'::timestamptz)
          AND m.received_at <= COALESCE(p_until, 'infinity'::timestamptz)
        ORDER BY m.received_at DESC, m.host, m.instance
        LIMIT 1;
    END IF;
END
$$;

COMMENT ON FUNCTION mailtrail.trace_start(text, text, timestamptz, timestamptz) IS
    'Internal: the message a trace by queue ID starts from (latest with that queue ID, on the host when given, within the bounds).';

CREATE OR REPLACE FUNCTION mailtrail.trace_hops_by_queue_id(
      p_queue_id  text
    , p_host      text        DEFAULT NULL
    , p_since     timestamptz DEFAULT NULL
    , p_until     timestamptz DEFAULT NULL
    , p_skew      interval    DEFAULT '10 minutes')
    RETURNS TABLE (
          hop              int
        , parents          int[]
        , link             text
        , host             text
        , instance         text
        , queue_id         text
        , received_at      timestamptz
        , sender           text
        , message_id       text
        , client_name      text
        , client_ip        inet
        , client_port      int
        , size             bigint
        , nrcpt            int
        , tls_proto        text
        , tls_cipher       text
        , sasl_username    text
        , origin_queue_id  text
        , origin_kind      text)
    LANGUAGE sql
    STABLE
AS $$
/*
 * Start from one message: when it has a message-id, trace that id (the
 * bounds apply to the id lookup) and keep the starting hop even if the id
 * lookup's bounds would exclude it; otherwise the closure from that message.
 */
    SELECT t.*
    FROM mailtrail.trace_start(p_queue_id, p_host, p_since, p_until) s
    CROSS JOIN LATERAL mailtrail.trace_hops_core(s.message_id, s.host, s.instance, s.queue_id, s.received_at,
                                                 p_since, p_until, p_skew) t;
$$;

COMMENT ON FUNCTION mailtrail.trace_hops_by_queue_id(text, text, timestamptz, timestamptz, interval) IS
    'Like trace_hops(), starting from the latest message with this queue ID (on this host when given): traces its message-id, or, without one, follows queued-as/origin links from it.';
