-- trace.sql: rebuild an e-mail's path across servers from the stored facts.
--
-- What: mailtrail.trace_hops(msgid, since, until, skew) and
--   mailtrail.trace_hops_by_queue_id(queue_id, host, since, until, skew)
--   return one row per hop (= one row of mailtrail.messages: one transaction
--   on one host) with the hops it came from (parents) and the evidence that
--   linked them (link). Internal helpers: trace_normalize_msgid,
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
--     last one, passed as constants so the planner prunes partitions.
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
-- The core: hop set, parents, numbering.
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION mailtrail.trace_hops_core(
      p_msgid              text            -- normalised message-id to trace, or NULL
    , p_start_host         text            -- optional extra starting hop (all four or none)
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
    LANGUAGE plpgsql
    STABLE
    ROWS 20
    -- JIT compiling this big statement costs seconds and saves nothing
    SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    v_skew  interval := COALESCE(p_skew, interval '10 minutes');
    v_from  timestamptz;    -- the time window every lookup stays in:
    v_to    timestamptz;    -- constants, so the planner prunes partitions
BEGIN
    IF v_skew < interval '0' THEN
        v_skew := -v_skew;
    END IF;

/*
 * The window: from the first seed (minus skew: a queued-as child may be
 * stamped earlier than its parent's delivery) to 14 days after the last
 * one (two full queue lifetimes for hops reached through links).
 */
    SELECT min(s.received_at) - v_skew, max(s.received_at) + interval '14 days'
      INTO v_from, v_to
      FROM (SELECT m.received_at
            FROM mailtrail.fact_messages m
            WHERE p_msgid IS NOT NULL
              AND m.message_id = p_msgid
              AND m.received_at >= COALESCE(p_since, '-infinity'::timestamptz)
              AND m.received_at <= COALESCE(p_until, 'infinity'::timestamptz)
            UNION ALL
            SELECT p_start_received_at
            WHERE p_start_queue_id IS NOT NULL) s;
    IF v_from IS NULL THEN
        RETURN;
    END IF;

    RETURN QUERY
    WITH RECURSIVE
    -- Rows with the traced message-id, plus the optional starting hop.
    seed AS MATERIALIZED (
        SELECT m.host, m.instance, m.queue_id, m.received_at, m.message_id, m.origin_queue_id, m.origin_kind
        FROM mailtrail.fact_messages m
        WHERE p_msgid IS NOT NULL
          AND m.message_id = p_msgid
          AND m.received_at >= COALESCE(p_since, '-infinity'::timestamptz)
          AND m.received_at <= COALESCE(p_until, 'infinity'::timestamptz)
          AND m.received_at BETWEEN v_from AND v_to
        UNION
        SELECT m.host, m.instance, m.queue_id, m.received_at, m.message_id, m.origin_queue_id, m.origin_kind
        FROM mailtrail.fact_messages m
        WHERE p_start_queue_id IS NOT NULL
          AND m.host = p_start_host
          AND m.instance = p_start_instance
          AND m.queue_id = p_start_queue_id
          AND m.received_at = p_start_received_at
    ),
    -- Closure: edges (parent -> child, link). Seeds and message-id group
    -- members have a NULL parent; UNION drops repeated edges, so cycles end.
    -- Candidates are looked up among the seeds first; the tables are only
    -- searched where a hop can lead outside its message-id group.
    walk (p_host, p_instance, p_queue_id, p_received_at,
          c_host, c_instance, c_queue_id, c_received_at, c_message_id, c_link) AS (
        SELECT NULL::text COLLATE "C", NULL::text COLLATE "C", NULL::text COLLATE "C", NULL::timestamptz,
               s.host, s.instance, s.queue_id, s.received_at, s.message_id, NULL::text
        FROM seed s
        UNION
        SELECT n.p_host, n.p_instance, n.p_queue_id, n.p_received_at,
               n.host, n.instance, n.queue_id, n.received_at, n.message_id, n.link
        FROM walk w
        CROSS JOIN LATERAL (
            -- (a) the next hop named in a delivery's response: a seed if one
            -- fits, else any message with that queue ID
            SELECT w.c_host AS p_host, w.c_instance AS p_instance, w.c_queue_id AS p_queue_id,
                   w.c_received_at AS p_received_at,
                   m.host, m.instance, m.queue_id, m.received_at, m.message_id,
                   CASE WHEN m.host = w.c_host THEN 'reinjection' ELSE 'queued-as' END AS link
            FROM (SELECT d.at, d.next_queue_id
                  FROM mailtrail.trace_hop_deliveries(w.c_host, w.c_instance, w.c_queue_id, w.c_received_at,
                                                      v_from, v_to) d
                  WHERE d.next_queue_id IS NOT NULL
                  OFFSET 0) d
            CROSS JOIN LATERAL (
                -- per host and instance only the transaction closest in time
                -- (the queue ID may have been reused within the window)
                SELECT DISTINCT ON (x.host, x.instance) x.*
                FROM (SELECT s.host, s.instance, s.queue_id, s.received_at, s.message_id, s.origin_kind
                      FROM seed s
                      WHERE s.queue_id = d.next_queue_id
                        AND s.received_at >= d.at - v_skew
                        AND s.received_at <= d.at + v_skew
                      UNION ALL
                      SELECT m.host, m.instance, m.queue_id, m.received_at, m.message_id, m.origin_kind
                      FROM mailtrail.fact_messages m
                      WHERE m.queue_id = d.next_queue_id
                        AND m.received_at >= d.at - v_skew
                        AND m.received_at <= d.at + v_skew
                        AND m.received_at BETWEEN v_from AND v_to
                        AND NOT EXISTS (SELECT 1
                                        FROM seed s
                                        WHERE s.queue_id = d.next_queue_id
                                          AND s.received_at >= d.at - v_skew
                                          AND s.received_at <= d.at + v_skew)) x
                ORDER BY x.host, x.instance, abs(extract(epoch FROM x.received_at - d.at)), x.received_at
            ) m
            WHERE m.host <> w.c_host
               OR (m.origin_kind IS NULL
                   AND (m.instance, m.queue_id, m.received_at)
                       IS DISTINCT FROM (w.c_instance, w.c_queue_id, w.c_received_at))
            UNION ALL
            -- (b) a same-host message created from this one: among the
            -- seeds, and in the table when the hop is outside the traced
            -- message-id group or could have caused a notification
            SELECT w.c_host, w.c_instance, w.c_queue_id, w.c_received_at,
                   m.host, m.instance, m.queue_id, m.received_at, m.message_id, m.origin_kind
            FROM (SELECT s.host, s.instance, s.queue_id, s.received_at, s.message_id, s.origin_kind
                  FROM seed s
                  WHERE s.host = w.c_host
                    AND s.origin_queue_id = w.c_queue_id
                    AND s.received_at >= w.c_received_at
                    AND s.received_at <= w.c_received_at + interval '5 days'
                  UNION ALL
                  SELECT m.host, m.instance, m.queue_id, m.received_at, m.message_id, m.origin_kind
                  FROM mailtrail.fact_messages m
                  WHERE m.host = w.c_host
                    AND m.origin_queue_id = w.c_queue_id
                    AND m.received_at >= w.c_received_at
                    AND m.received_at <= w.c_received_at + interval '5 days'
                    AND m.received_at BETWEEN v_from AND v_to
                    AND (w.c_message_id IS NULL
                         OR w.c_message_id IS DISTINCT FROM p_msgid
                         OR EXISTS (SELECT 1
                                    FROM mailtrail.trace_hop_deliveries(w.c_host, w.c_instance,
                                                                        w.c_queue_id, w.c_received_at,
                                                                        v_from, v_to) d
                                    WHERE d.status <> 'sent'))) m
            WHERE m.origin_kind IS NOT NULL
              AND (m.instance, m.queue_id, m.received_at)
                  IS DISTINCT FROM (w.c_instance, w.c_queue_id, w.c_received_at)
              -- queue-ID reuse: a later transaction with our queue ID owns it
              AND NOT EXISTS (
                    SELECT 1
                    FROM mailtrail.fact_messages r
                    WHERE r.host = w.c_host
                      AND r.instance = w.c_instance
                      AND r.queue_id = w.c_queue_id
                      AND r.received_at > w.c_received_at
                      AND r.received_at <= m.received_at
                      AND r.received_at BETWEEN v_from AND v_to)
            UNION ALL
            -- a message-id this hop brought in (a bounce's own id): its group
            SELECT NULL, NULL, NULL, NULL,
                   m.host, m.instance, m.queue_id, m.received_at, m.message_id, NULL
            FROM mailtrail.fact_messages m
            WHERE w.c_link IS NOT NULL
              AND w.c_message_id IS NOT NULL
              AND w.c_message_id IS DISTINCT FROM p_msgid
              AND m.message_id = w.c_message_id
              AND m.received_at >= w.c_received_at - v_skew
              AND m.received_at BETWEEN v_from AND v_to
        ) n
    ),
    -- Every hop once, with its columns and a provisional index k.
    hops AS MATERIALIZED (
        SELECT m.*,
               row_number() OVER (ORDER BY m.received_at, m.host, m.queue_id, m.instance)::int AS k
        FROM (SELECT DISTINCT c_host, c_instance, c_queue_id, c_received_at FROM walk) h
        CROSS JOIN LATERAL (
            SELECT m.*
            FROM mailtrail.fact_messages m
            WHERE m.host = h.c_host
              AND m.instance = h.c_instance
              AND m.queue_id = h.c_queue_id
              AND m.received_at = h.c_received_at
              AND m.received_at BETWEEN v_from AND v_to
            LIMIT 1) m
    ),
    -- Their deliveries (for the address and time evidence).
    hopdel AS MATERIALIZED (
        SELECT h.k, d.at, d.status, d.relay_name, d.relay_ip, d.next_queue_id
        FROM hops h
        CROSS JOIN LATERAL (
            SELECT d.at, d.status, d.relay_name, d.relay_ip, d.next_queue_id
            FROM mailtrail.trace_hop_deliveries(h.host, h.instance, h.queue_id, h.received_at, v_from, v_to) d
            OFFSET 0) d    -- keep it a per-hop index lookup
    ),
    -- Level 1: (a) and (b), as found by the walk.
    strong AS (
        SELECT DISTINCT c.k AS child, p.k AS parent, w.c_link AS link
        FROM walk w
        JOIN hops p ON (p.host, p.instance, p.queue_id, p.received_at)
                     = (w.p_host, w.p_instance, w.p_queue_id, w.p_received_at)
        JOIN hops c ON (c.host, c.instance, c.queue_id, c.received_at)
                     = (w.c_host, w.c_instance, w.c_queue_id, w.c_received_at)
        WHERE w.p_host IS NOT NULL
          AND p.k <> c.k
    ),
    -- Level 2: same message-id, and a sent delivery of the parent within
    -- skew of the child's receipt that went to the child. Strength 1: the
    -- delivery names the child: its relay IP or name is the child's client
    -- IP or name (a proxy; loopback only on the same host), or its relay
    -- name names the child's host. Strength 2: only the child names the
    -- parent: its client name or HELO names the parent's host, and the
    -- delivery left that host. A child keeps its strongest candidates.
    addr_all AS (
        SELECT x.child, x.parent, min(x.strength) AS strength
        FROM (
            SELECT c.k AS child, p.k AS parent,
                   CASE WHEN (d.relay_ip = c.client_ip
                              OR (d.relay_name = c.client_name
                                  AND c.client_name NOT IN ('unknown', 'localhost')))
                             AND (c.host = p.host OR NOT mailtrail.trace_is_loopback(d.relay_ip))
                          THEN 1
                        WHEN mailtrail.trace_name_is_host(d.relay_name, c.host)
                          THEN 1
                        WHEN c.host <> p.host
                             AND NOT mailtrail.trace_is_loopback(d.relay_ip)
                             AND (mailtrail.trace_name_is_host(c.client_name, p.host)
                                  OR mailtrail.trace_name_is_host(c.helo, p.host))
                          THEN 2
                   END AS strength
            FROM hopdel d
            JOIN hops p ON p.k = d.k
            JOIN hops c
              ON c.message_id = p.message_id
             AND c.k <> p.k
             AND c.received_at >= d.at - v_skew
             AND c.received_at <= d.at + v_skew
            WHERE c.message_id IS NOT NULL
              AND d.status = 'sent'
              AND NOT EXISTS (SELECT 1 FROM strong s WHERE s.child = c.k)
        ) x
        WHERE x.strength IS NOT NULL
        GROUP BY x.child, x.parent
    ),
    addr AS (
        SELECT a.child, a.parent
        FROM (SELECT x.*, min(x.strength) OVER (PARTITION BY x.child) AS best FROM addr_all x) a
        WHERE a.strength = a.best
    ),
    links12 AS MATERIALIZED (
        SELECT child, parent FROM strong
        UNION
        SELECT child, parent FROM addr
    ),
    -- Known ancestry from levels 1 and 2 (anc reaches descendant).
    reach12 (anc, descendant) AS (
        SELECT l.parent, l.child FROM links12 l
        UNION
        SELECT r.anc, l.child
        FROM reach12 r
        JOIN links12 l ON l.parent = r.descendant
    ),
    -- Order from the evidence so far, used to choose among msgid+time
    -- candidates: by the latest received_at among a hop and its ancestors,
    -- then by its number of ancestors. Both grow along every edge of an
    -- acyclic graph, so a child whose clock is behind its parent's still
    -- sorts after it.
    pre AS MATERIALIZED (
        SELECT h.k,
               row_number() OVER (ORDER BY greatest(h.received_at, a.eff), COALESCE(a.n, 0),
                                           h.received_at, h.host, h.queue_id, h.instance)::int AS pos
        FROM hops h
        LEFT JOIN (SELECT r.descendant AS k, max(p.received_at) AS eff, count(*) AS n
                   FROM reach12 r JOIN hops p ON p.k = r.anc
                   GROUP BY r.descendant) a ON a.k = h.k
    ),
    -- Hint for level 3: P sent to a remote (non-loopback) relay within skew
    -- of C's receipt, i.e. that delivery plausibly created C -- unless it is
    -- known to have gone to another hop (its queued-as child, or a hop on a
    -- host its relay name names).
    hint AS (
        SELECT DISTINCT p.k AS parent, c.k AS child
        FROM hopdel d
        JOIN hops p ON p.k = d.k
        JOIN hops c
          ON c.message_id = p.message_id
         AND c.host <> p.host
         AND c.received_at >= d.at - v_skew
         AND c.received_at <= d.at + v_skew
        WHERE d.status = 'sent'
          AND d.relay_ip IS NOT NULL
          AND NOT mailtrail.trace_is_loopback(d.relay_ip)
          AND NOT EXISTS (SELECT 1
                          FROM strong s
                          JOIN hops x ON x.k = s.child
                          WHERE s.parent = p.k
                            AND x.queue_id = d.next_queue_id
                            AND x.k <> c.k)
          AND NOT EXISTS (SELECT 1
                          FROM hops x
                          WHERE x.host <> c.host
                            AND mailtrail.trace_name_is_host(d.relay_name, x.host))
    ),
    -- Level 3: same message-id, the latest hop on another host received
    -- before the child. "Before" tolerates skew: when the two are less than
    -- skew apart, known ancestry decides; else P counts if only P has a hint
    -- towards C, or if the hints agree (both or neither) and P comes first
    -- in the order above. A descendant of C is never its parent. Among the
    -- candidates, those with a hint win, then the latest in that order.
    timed AS (
        SELECT DISTINCT ON (c.k) c.k AS child, p.k AS parent
        FROM hops c
        JOIN pre cp ON cp.k = c.k
        JOIN hops p
          ON p.message_id = c.message_id
         AND p.host <> c.host
         AND p.received_at < c.received_at + v_skew
        JOIN pre pp ON pp.k = p.k
        LEFT JOIN hint h_pc ON h_pc.parent = p.k AND h_pc.child = c.k
        LEFT JOIN hint h_cp ON h_cp.parent = c.k AND h_cp.child = p.k
        WHERE c.message_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM links12 l WHERE l.child = c.k)
          AND NOT EXISTS (SELECT 1 FROM reach12 r WHERE r.anc = c.k AND r.descendant = p.k)
          AND (p.received_at <= c.received_at - v_skew
               OR EXISTS (SELECT 1 FROM reach12 r WHERE r.anc = p.k AND r.descendant = c.k)
               OR (h_pc.parent IS NOT NULL AND h_cp.parent IS NULL)
               OR ((h_pc.parent IS NULL) = (h_cp.parent IS NULL) AND pp.pos < cp.pos))
        ORDER BY c.k, (h_pc.parent IS NOT NULL) DESC, pp.pos DESC
    ),
    links AS MATERIALIZED (
        SELECT child, parent, link,
               CASE link WHEN 'queued-as' THEN 1 WHEN 'reinjection' THEN 2 WHEN 'bounce' THEN 3
                         WHEN 'requeue' THEN 4 WHEN 'forward' THEN 5 ELSE 6 END AS rank
        FROM strong
        UNION ALL
        SELECT child, parent, 'msgid+address', 7 FROM addr
        UNION ALL
        SELECT child, parent, 'msgid+time', 8 FROM timed
    ),
    -- Final order, the same way over all links.
    reach (anc, descendant) AS (
        SELECT l.parent, l.child FROM links l
        UNION
        SELECT r.anc, l.child
        FROM reach r
        JOIN links l ON l.parent = r.descendant
    ),
    numbered AS MATERIALIZED (
        SELECT h.k,
               row_number() OVER (ORDER BY greatest(h.received_at, a.eff), COALESCE(a.n, 0),
                                           h.received_at, h.host, h.queue_id, h.instance)::int AS hop
        FROM hops h
        LEFT JOIN (SELECT r.descendant AS k, max(p.received_at) AS eff, count(*) AS n
                   FROM reach r JOIN hops p ON p.k = r.anc
                   GROUP BY r.descendant) a ON a.k = h.k
    ),
    parentage AS (
        SELECT l.child,
               array_agg(DISTINCT np.hop ORDER BY np.hop) AS parents,
               (array_agg(l.link ORDER BY l.rank))[1] AS link
        FROM links l
        JOIN numbered np ON np.k = l.parent
        GROUP BY l.child
    )
    SELECT n.hop,
           COALESCE(pa.parents, '{}'::int[]),
           pa.link,
           h.host::text, h.instance::text, h.queue_id::text, h.received_at, h.sender,
           h.message_id::text, h.client_name, h.client_ip, h.client_port, h.size, h.nrcpt,
           h.tls_proto, h.tls_cipher, h.sasl_username, h.origin_queue_id::text, h.origin_kind
    FROM hops h
    JOIN numbered n ON n.k = h.k
    LEFT JOIN parentage pa ON pa.child = h.k
    ORDER BY n.hop;
END
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
