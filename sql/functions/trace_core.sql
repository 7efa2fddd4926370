-- trace_core.sql: the trace itself: hop set, parents and numbering.
--
-- What: mailtrail.trace_core(msgid, start hop, since, until, skew) returns
--   one row per hop of the trace: hop number, parents, link, the hop's
--   messages row and its delivery rows (those of trace_hop_deliveries).
--   trace_hops_core / trace_hops / trace_hops_by_queue_id (trace.sql) and
--   trace_json (trace_json.sql) present it. The rules (hop set, evidence
--   levels, numbering) are the contract in trace.sql and docs/trace.md.
-- Contract: the closure is the fixpoint of a recursive UNION over the
--   rules (a), (b) and the message-id group rule, computed one step per
--   statement; then one statement over the hops held in arrays (type
--   mailtrail.trace_edge, migration 0006) finds parents and numbers.
--   Statements that read a table are planned for their own constant time
--   bounds (custom plans): each bound is implied by the conditions of the
--   lookup it is added to, so results are those of the unbounded lookup,
--   and only the day partitions between the bounds are planned and
--   opened; a lookup that cannot find anything gets an empty range.
--   Statements on the arrays are planned once per session. Results equal
--   those of the single recursive statement this replaced (checked on
--   17,384 traces of a mixed-MTA archive).
-- Limits: read-only, SECURITY INVOKER, reads fact_messages and
--   fact_deliveries. The trace's own limits are listed in trace.sql. The
--   first call in a session pays for catalog entries and plans.

CREATE OR REPLACE FUNCTION mailtrail.trace_core(
      p_msgid              text            -- normalised message-id to trace, or NULL
    , p_start_host         text            -- optional extra starting hop (all four or none)
    , p_start_instance     text
    , p_start_queue_id     text
    , p_start_received_at  timestamptz
    , p_since              timestamptz
    , p_until              timestamptz
    , p_skew               interval)
    RETURNS TABLE (
          hop         int
        , parents     int[]
        , link        text
        , msg         mailtrail.messages           -- the hop's row
        , deliveries  mailtrail.deliveries[])    -- trace_hop_deliveries(hop), in no order
    LANGUAGE plpgsql
    STABLE
    ROWS 20
    -- JIT compiling these statements costs more than it saves
    SET jit = off
    -- the statements on arrays: planned once per session (see "Plans" below)
    SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_skew     interval := COALESCE(p_skew, interval '10 minutes');
    v_from     timestamptz;    -- the time window every lookup stays in
    v_to       timestamptz;
    v_seed     mailtrail.messages[];              -- rows with the traced id, and the starting hop
    v_walk     mailtrail.trace_edge[];            -- the closure so far
    v_front    mailtrail.trace_edge[];            -- the rows the last step added
    v_new      mailtrail.trace_edge[];
    v_todo     mailtrail.trace_edge[];            -- children to expand through (a) and (b) now
    v_done     mailtrail.trace_edge[] := '{}';    -- children expanded through (a) and (b)
    v_keys     mailtrail.trace_edge[];            -- hops whose deliveries are still to be read
    v_fetched  mailtrail.trace_edge[] := '{}';    -- hops whose deliveries are in v_dhop/v_drow
    v_dhop     timestamptz[] := '{}';             -- deliveries read: received_at of their hop,
    v_drow     mailtrail.deliveries[] := '{}';    -- and the row (trace_hop_deliveries)
    v_khop     timestamptz[];                     -- the same for the hops of one step
    v_krow     mailtrail.deliveries[];
    v_open     boolean;                           -- some of them have no received_at
    v_qids     text[] COLLATE "C";                -- their queue IDs and hosts
    v_hosts    text[] COLLATE "C";
    v_hoprow   mailtrail.messages[];
    -- Bounds of single statements, redundant with their own conditions but
    -- constants: the planner plans (and the executor opens) only the day
    -- partitions between them.
    v_lo       timestamptz;
    v_hi       timestamptz;
    v_need_a   boolean;        -- (a) needs the table: a next queue ID no seed fits
    v_a_lo     timestamptz;
    v_a_hi     timestamptz;
    v_need_b   boolean;        -- (b) needs the table (see below)
    v_maybe_b  boolean;        -- (b) has a seed candidate
    v_b_lo     timestamptz;
    v_b_hi     timestamptz;
    v_r_lo     timestamptz;    -- the queue-ID reuse check of (b)
    v_r_hi     timestamptz;
    v_g_lo     timestamptz;    -- the message-id group rule ('infinity': no row needs it)
BEGIN
    IF v_skew < interval '0' THEN
        v_skew := -v_skew;
    END IF;

/*
 * Plans: a statement that reads a table is planned for each execution with
 * its bounds as constants (force_custom_plan around it), so that only the
 * partitions between them are planned and opened; a generic plan would
 * hold every partition of the table. The statements on the arrays in
 * between are planned once per session (force_generic_plan; the function's
 * SET clause restores the caller's setting on exit).
 *
 * Seeds: the rows with the traced message-id within [p_since, p_until],
 * and the optional starting hop. The window: from the first seed (minus
 * skew: a queued-as child may be stamped earlier than its parent's
 * delivery) to 14 days after the last one (two full queue lifetimes for
 * hops reached through links); every seed lies in it.
 */
    IF p_since IS NOT NULL OR p_until IS NOT NULL THEN
        -- without bounds a custom plan would hold every partition as well
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
    END IF;
    SELECT COALESCE(array_agg(ROW(m.*)::mailtrail.messages), '{}')
      INTO v_seed
      FROM mailtrail.fact_messages m
     WHERE p_msgid IS NOT NULL
       AND m.message_id = p_msgid
       AND m.received_at >= COALESCE(p_since, '-infinity'::timestamptz)
       AND m.received_at <= COALESCE(p_until, 'infinity'::timestamptz);
    IF p_start_queue_id IS NOT NULL THEN
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
        v_seed := v_seed || ARRAY(
            SELECT ROW(m.*)::mailtrail.messages
            FROM mailtrail.fact_messages m
            WHERE m.host = p_start_host
              AND m.instance = p_start_instance
              AND m.queue_id = p_start_queue_id
              AND m.received_at = p_start_received_at);
    END IF;
    PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
    SELECT min(s.received_at) - v_skew, max(s.received_at) + interval '14 days'
      INTO v_from, v_to
      FROM (SELECT x.received_at FROM unnest(v_seed) x
            UNION ALL
            SELECT p_start_received_at
            WHERE p_start_queue_id IS NOT NULL) s;
    IF v_from IS NULL THEN
        RETURN;
    END IF;

/*
 * The closure: rows (parent -> child, link); seeds and message-id group
 * members have a NULL parent. It is the fixpoint of a recursive UNION,
 * computed here one step per statement (so that each step's lookups get
 * constant bounds): a step applies (a), (b) and the message-id group rule
 * to the rows the previous step added, and keeps the rows not seen yet.
 * What (a) and (b) give depends only on the child (its key and message-id),
 * so each child is expanded through them once; the group rule also depends
 * on the link and is applied to every new row. Candidates are looked up
 * among the seeds first; the tables are only searched (and only planned)
 * where a hop can lead outside its message-id group.
 */
    v_walk := ARRAY(
        SELECT ROW(NULL, NULL, NULL, NULL, x.host, x.instance, x.queue_id, x.received_at, x.message_id, NULL)::mailtrail.trace_edge
        FROM (SELECT DISTINCT s.host, s.instance, s.queue_id, s.received_at, s.message_id FROM unnest(v_seed) s) x);
    v_front := v_walk;
    LOOP
        v_todo := ARRAY(
            SELECT ROW(NULL, NULL, NULL, NULL, x.c_host, x.c_instance, x.c_queue_id, x.c_received_at, x.c_message_id,
                       NULL)::mailtrail.trace_edge
            FROM (SELECT f.c_host, f.c_instance, f.c_queue_id, f.c_received_at, f.c_message_id FROM unnest(v_front) f
                  EXCEPT
                  SELECT d.c_host, d.c_instance, d.c_queue_id, d.c_received_at, d.c_message_id FROM unnest(v_done) d) x);
        v_done := v_done || v_todo;

        -- The deliveries of hops not read yet, all of each hop's lifetime
        -- (as trace_hop_deliveries without bounds); the walk uses those
        -- within the window (at <= v_to; at >= v_from holds for every hop).
        v_keys := ARRAY(
            SELECT ROW(NULL, NULL, NULL, NULL, x.c_host, x.c_instance, x.c_queue_id, x.c_received_at, NULL,
                       NULL)::mailtrail.trace_edge
            FROM (SELECT t.c_host, t.c_instance, t.c_queue_id, t.c_received_at FROM unnest(v_todo) t
                  EXCEPT
                  SELECT k.c_host, k.c_instance, k.c_queue_id, k.c_received_at FROM unnest(v_fetched) k) x);
        IF cardinality(v_keys) > 0 THEN
            SELECT min(k.c_received_at), max(k.c_received_at + interval '7 days')
              INTO v_lo, v_hi
              FROM unnest(v_keys) k;
            -- The rows trace_hop_deliveries() can return for these hops: those
            -- stamped with the hop's received_at, and those without one, which
            -- it keeps only up to a reuse of the queue ID (another lookup).
            -- Without such rows the first set is its result; else ask it.
            -- Read as one plain scan (queue IDs and hosts as arrays: cheap to
            -- plan), then paired with the hops.
            SELECT array_agg(DISTINCT k.c_queue_id), array_agg(DISTINCT k.c_host)
              INTO v_qids, v_hosts
              FROM unnest(v_keys) k;
            PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
            v_krow := ARRAY(
                SELECT ROW(d.*)::mailtrail.deliveries
                FROM mailtrail.fact_deliveries d
                WHERE d.queue_id = ANY (v_qids)
                  AND d.host = ANY (v_hosts)
                  AND d.at BETWEEN v_lo AND v_hi);
            PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
            SELECT COALESCE(array_agg(k.c_received_at), '{}'), COALESCE(array_agg(d), '{}'),
                   COALESCE(bool_or(d.received_at IS NULL), false)
              INTO v_khop, v_krow, v_open
              FROM unnest(v_keys) k
              JOIN unnest(v_krow) d
                ON d.host = k.c_host
               AND d.instance = k.c_instance
               AND d.queue_id = k.c_queue_id
               AND d.at >= k.c_received_at
               AND d.at < k.c_received_at + interval '7 days'
               AND (d.received_at = k.c_received_at OR d.received_at IS NULL);
            IF v_open THEN
                PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
                SELECT COALESCE(array_agg(k.c_received_at), '{}'), COALESCE(array_agg(d), '{}')
                  INTO v_khop, v_krow
                  FROM unnest(v_keys) k
                  CROSS JOIN LATERAL mailtrail.trace_hop_deliveries(k.c_host, k.c_instance, k.c_queue_id,
                                                                    k.c_received_at, v_lo, v_hi) d;
                PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
            END IF;
            v_dhop := v_dhop || v_khop;
            v_drow := v_drow || v_krow;
            v_fetched := v_fetched || v_keys;
        END IF;

        -- What this step needs from the tables, and the bounds of each lookup.
        SELECT COALESCE(bool_or(NOT x.fits), false),
               min(x.at) FILTER (WHERE NOT x.fits) - v_skew, max(x.at) FILTER (WHERE NOT x.fits) + v_skew
          INTO v_need_a, v_a_lo, v_a_hi
          FROM (SELECT c.at,
                       EXISTS (SELECT 1 FROM unnest(v_seed) s
                               WHERE s.queue_id = c.next_queue_id
                                 AND s.received_at >= c.at - v_skew
                                 AND s.received_at <= c.at + v_skew) AS fits
                FROM unnest(v_todo) t
                JOIN unnest(v_dhop, v_drow) AS c (hop_received_at)
                  ON c.host = t.c_host AND c.instance = t.c_instance AND c.queue_id = t.c_queue_id
                 AND c.hop_received_at = t.c_received_at
                WHERE c.next_queue_id IS NOT NULL
                  AND c.at <= v_to) x;
        SELECT COALESCE(bool_or(t.c_message_id IS NULL
                                OR t.c_message_id IS DISTINCT FROM p_msgid
                                OR EXISTS (SELECT 1 FROM unnest(v_dhop, v_drow) AS c (hop_received_at)
                                           WHERE c.host = t.c_host AND c.instance = t.c_instance
                                             AND c.queue_id = t.c_queue_id AND c.hop_received_at = t.c_received_at
                                             AND c.at <= v_to
                                             AND c.status <> 'sent')), false),
               COALESCE(bool_or(EXISTS (SELECT 1 FROM unnest(v_seed) s
                                        WHERE s.host = t.c_host
                                          AND s.origin_queue_id = t.c_queue_id
                                          AND s.received_at >= t.c_received_at
                                          AND s.received_at <= t.c_received_at + interval '5 days')), false),
               min(t.c_received_at), max(t.c_received_at + interval '5 days')
          INTO v_need_b, v_maybe_b, v_r_lo, v_r_hi
          FROM unnest(v_todo) t;
        v_b_lo := v_r_lo;
        v_b_hi := v_r_hi;
/*
 * A lookup that cannot find anything gets an empty range ('infinity' to
 * '-infinity'), so that the planner prunes every partition. (Not a false
 * flag ANDed to the conditions: the planner would fold the whole condition
 * to false, lose the time range with it, and plan every partition of the
 * table before finding out that it reads none.)
 */
        IF NOT v_need_a THEN
            v_a_lo := 'infinity';
            v_a_hi := '-infinity';
        END IF;
        IF NOT v_need_b THEN
            v_b_lo := 'infinity';
            v_b_hi := '-infinity';
        END IF;
        IF NOT (v_need_b OR v_maybe_b) THEN
            v_r_lo := 'infinity';
            v_r_hi := '-infinity';
        END IF;
        SELECT COALESCE(min(f.c_received_at) - v_skew, 'infinity')
          INTO v_g_lo
          FROM unnest(v_front) f
         WHERE f.c_link IS NOT NULL
           AND f.c_message_id IS NOT NULL
           AND f.c_message_id IS DISTINCT FROM p_msgid;

        -- Nothing to expand and no group to pull in: the step adds nothing.
        EXIT WHEN cardinality(v_todo) = 0 AND v_g_lo = 'infinity';
/*
 * No lookup needs a table (every range above is empty, and (b) has no
 * seed candidate): then only (a) among the seeds can add rows, and this
 * statement over the arrays gives what the full one below would, from a
 * plan made once per session. Planning the full one (a dozen subqueries)
 * for each step was a quarter of a warm trace of the usual kind: a
 * message-id whose every hop is a seed. It repeats the seed branch of (a)
 * below: a change to (a) goes into both.
 */
        IF NOT (v_need_a OR v_need_b OR v_maybe_b OR v_g_lo <> 'infinity') THEN
            v_new := ARRAY(
                SELECT ROW(x.*)::mailtrail.trace_edge
                FROM (
                    SELECT w.c_host, w.c_instance, w.c_queue_id, w.c_received_at,
                           m.host, m.instance, m.queue_id, m.received_at, m.message_id,
                           CASE WHEN m.host = w.c_host THEN 'reinjection' ELSE 'queued-as' END
                    FROM unnest(v_todo) w
                    CROSS JOIN LATERAL (
                        SELECT c.at, c.next_queue_id
                        FROM unnest(v_dhop, v_drow) AS c (hop_received_at)
                        WHERE c.host = w.c_host AND c.instance = w.c_instance AND c.queue_id = w.c_queue_id
                          AND c.hop_received_at = w.c_received_at
                          AND c.next_queue_id IS NOT NULL
                          AND c.at <= v_to) d
                    CROSS JOIN LATERAL (
                        SELECT DISTINCT ON (s.host, s.instance)
                               s.host, s.instance, s.queue_id, s.received_at, s.message_id, s.origin_kind
                        FROM unnest(v_seed) s
                        WHERE s.queue_id = d.next_queue_id
                          AND s.received_at >= d.at - v_skew
                          AND s.received_at <= d.at + v_skew
                        ORDER BY s.host, s.instance, abs(extract(epoch FROM s.received_at - d.at)), s.received_at
                    ) m
                    WHERE m.host <> w.c_host
                       OR (m.origin_kind IS NULL
                           AND (m.instance, m.queue_id, m.received_at)
                               IS DISTINCT FROM (w.c_instance, w.c_queue_id, w.c_received_at))
                    EXCEPT
                    SELECT * FROM unnest(v_walk)
                ) x);
            EXIT WHEN cardinality(v_new) = 0;
            v_walk := v_walk || v_new;
            v_front := v_new;
            CONTINUE;
        END IF;
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
        v_new := ARRAY(
            SELECT ROW(x.*)::mailtrail.trace_edge
            FROM (
                SELECT n.*
                FROM unnest(v_todo) w
                CROSS JOIN LATERAL (
                    -- (a) the next hop named in a delivery's response: a seed if one
                    -- fits, else any message with that queue ID
                    SELECT w.c_host AS p_host, w.c_instance AS p_instance, w.c_queue_id AS p_queue_id,
                           w.c_received_at AS p_received_at,
                           m.host, m.instance, m.queue_id, m.received_at, m.message_id,
                           CASE WHEN m.host = w.c_host THEN 'reinjection' ELSE 'queued-as' END AS link
                    FROM (SELECT c.at, c.next_queue_id
                          FROM unnest(v_dhop, v_drow) AS c (hop_received_at)
                          WHERE c.host = w.c_host AND c.instance = w.c_instance AND c.queue_id = w.c_queue_id
                            AND c.hop_received_at = w.c_received_at
                            AND c.next_queue_id IS NOT NULL
                            AND c.at <= v_to) d
                    CROSS JOIN LATERAL (
                        -- per host and instance only the transaction closest in time
                        -- (the queue ID may have been reused within the window)
                        SELECT DISTINCT ON (x.host, x.instance) x.*
                        FROM (SELECT s.host, s.instance, s.queue_id, s.received_at, s.message_id, s.origin_kind
                              FROM unnest(v_seed) s
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
                                AND m.received_at BETWEEN v_a_lo AND v_a_hi
                                AND NOT EXISTS (SELECT 1
                                                FROM unnest(v_seed) s
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
                          FROM unnest(v_seed) s
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
                            AND m.received_at BETWEEN v_b_lo AND v_b_hi
                            AND (w.c_message_id IS NULL
                                 OR w.c_message_id IS DISTINCT FROM p_msgid
                                 OR EXISTS (SELECT 1
                                            FROM unnest(v_dhop, v_drow) AS c (hop_received_at)
                                            WHERE c.host = w.c_host AND c.instance = w.c_instance
                                              AND c.queue_id = w.c_queue_id AND c.hop_received_at = w.c_received_at
                                              AND c.at <= v_to
                                              AND c.status <> 'sent'))) m
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
                              AND r.received_at BETWEEN v_from AND v_to
                              AND r.received_at BETWEEN v_r_lo AND v_r_hi)
                ) n
                UNION ALL
                -- a message-id a hop brought in (a bounce's own id): its group
                SELECT NULL::text COLLATE "C", NULL::text COLLATE "C", NULL::text COLLATE "C", NULL::timestamptz,
                       m.host, m.instance, m.queue_id, m.received_at, m.message_id, NULL::text
                FROM unnest(v_front) w
                JOIN mailtrail.fact_messages m ON m.message_id = w.c_message_id
                WHERE w.c_link IS NOT NULL
                  AND w.c_message_id IS NOT NULL
                  AND w.c_message_id IS DISTINCT FROM p_msgid
                  AND m.received_at >= w.c_received_at - v_skew
                  AND m.received_at BETWEEN v_from AND v_to
                  AND m.received_at BETWEEN v_g_lo AND v_to
                EXCEPT
                SELECT * FROM unnest(v_walk)
            ) x);
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
        EXIT WHEN cardinality(v_new) = 0;
        v_walk := v_walk || v_new;
        v_front := v_new;
    END LOOP;

    -- Every hop once, with its columns: the seeds have their rows already
    -- (any row with the hop's key will do, as LIMIT 1 would); the others
    -- are read, when there are any.
    v_hoprow := ARRAY(
        SELECT l.r
        FROM (SELECT DISTINCT w.c_host, w.c_instance, w.c_queue_id, w.c_received_at FROM unnest(v_walk) w) h
        CROSS JOIN LATERAL (
            SELECT s AS r
            FROM unnest(v_seed) s
            WHERE s.host = h.c_host
              AND s.instance = h.c_instance
              AND s.queue_id = h.c_queue_id
              AND s.received_at = h.c_received_at
            LIMIT 1) l);
    v_keys := ARRAY(
        SELECT ROW(NULL, NULL, NULL, NULL, x.c_host, x.c_instance, x.c_queue_id, x.c_received_at, NULL,
                   NULL)::mailtrail.trace_edge
        FROM (SELECT w.c_host, w.c_instance, w.c_queue_id, w.c_received_at FROM unnest(v_walk) w
              EXCEPT
              SELECT s.host, s.instance, s.queue_id, s.received_at FROM unnest(v_seed) s) x);
    IF cardinality(v_keys) > 0 THEN
        SELECT min(k.c_received_at), max(k.c_received_at)
          INTO v_lo, v_hi
          FROM unnest(v_keys) k;
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
        v_hoprow := v_hoprow || ARRAY(
            SELECT l.r
            FROM unnest(v_keys) h
            CROSS JOIN LATERAL (
                SELECT ROW(m.*)::mailtrail.messages AS r
                FROM mailtrail.fact_messages m
                WHERE m.host = h.c_host
                  AND m.instance = h.c_instance
                  AND m.queue_id = h.c_queue_id
                  AND m.received_at = h.c_received_at
                  AND m.received_at BETWEEN v_from AND v_to
                  AND m.received_at BETWEEN v_lo AND v_hi
                LIMIT 1) l);
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
    END IF;

/*
 * One hop: no link can join a hop to itself (every level below needs two
 * different hops), so it is hop 1 without parents; the statement below
 * would say the same after planning a dozen subqueries.
 */
    IF cardinality(v_hoprow) = 1 THEN
        RETURN QUERY
        SELECT 1, '{}'::int[], NULL::text, v_hoprow[1],
               COALESCE((SELECT array_agg(v_drow[i])
                         FROM generate_subscripts(v_dhop, 1) i
                         WHERE v_dhop[i] = (v_hoprow[1]).received_at
                           AND (v_drow[i]).host = (v_hoprow[1]).host
                           AND (v_drow[i]).instance = (v_hoprow[1]).instance
                           AND (v_drow[i]).queue_id = (v_hoprow[1]).queue_id), '{}');
        RETURN;
    END IF;

/*
 * Parents and numbering, from the closure, the hops and their deliveries
 * (no table is read any more). The plan made once per session assumes a
 * handful of hops; a large fan-out gets a plan for its own size (hash
 * joins instead of nested loops over the hops).
 */
    IF cardinality(v_hoprow) > 50 THEN
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
    END IF;
    RETURN QUERY
    WITH RECURSIVE
    walk AS (
        SELECT w.* FROM unnest(v_walk) w
    ),
    -- Every hop once, with its columns and a provisional index k.
    hops AS MATERIALIZED (
        SELECT m.*, m AS msg_row,
               row_number() OVER (ORDER BY m.received_at, m.host, m.queue_id, m.instance)::int AS k
        FROM unnest(v_hoprow) m
    ),
    -- Their deliveries within the window (for the address and time evidence).
    hopdel AS MATERIALIZED (
        SELECT h.k, c.at, c.status, c.relay_name, c.relay_ip, c.next_queue_id
        FROM hops h
        JOIN unnest(v_dhop, v_drow) AS c (hop_received_at)
          ON c.host = h.host AND c.instance = h.instance AND c.queue_id = h.queue_id
         AND c.hop_received_at = h.received_at
        WHERE c.at <= v_to
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
           h.msg_row,
           COALESCE((SELECT array_agg(v_drow[i])
                     FROM generate_subscripts(v_dhop, 1) i
                     WHERE v_dhop[i] = h.received_at
                       AND (v_drow[i]).host = h.host
                       AND (v_drow[i]).instance = h.instance
                       AND (v_drow[i]).queue_id = h.queue_id), '{}')
    FROM hops h
    JOIN numbered n ON n.k = h.k
    LEFT JOIN parentage pa ON pa.child = h.k
    ORDER BY n.hop;
END
$$;

COMMENT ON FUNCTION mailtrail.trace_core(text, text, text, text, timestamptz, timestamptz, timestamptz, interval) IS
    'Internal: hops of a trace from a message-id and/or one starting hop, each with its parents, link, messages row and delivery rows; use trace_hops(), trace_hops_by_queue_id() or trace_json().';
