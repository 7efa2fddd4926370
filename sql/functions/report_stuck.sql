-- report_stuck.sql: messages accepted but without a final outcome
-- (`mailtrail report stuck`).
--
-- What: mailtrail.report_stuck(p_since, p_until, p_host, p_minutes) — as
--   of p_until (NULL: now()), every transaction received at least
--   p_minutes earlier (and at or after p_since) that still waits: one row
--   per recipient whose attempts so far were all deferred (or softbounce)
--   and for which no host logged a final outcome, plus one row (recipient
--   NULL) per transaction that logged no delivery attempt at all and did
--   not reach another hop.
-- Contract: final = any status but deferred and softbounce. "No host
--   logged a final outcome" = no delivery row with the same msg_key and
--   recipient and a final status at or after the transaction's receipt (up
--   to p_until): a message retried through another relay is not stuck.
--   A transaction without attempts is not stuck when a later transaction
--   with the same msg_key exists (it moved on) or a refusal/discard on its
--   host names its queue ID. Only attempts up to p_until count. Columns:
--   attempts and the last attempt's status, time and response (NULL when
--   none); waiting_minutes = p_until - received_at in whole minutes.
--   Ordered by received_at, host, queue_id, recipient.
-- Cost: inlined plain SQL; with p_since every lookup (attempts, later hops,
--   refusals, final outcomes elsewhere) is bounded to [p_since, p_until], so
--   only those day partitions are planned and read (one day of the 90-day
--   bench: about 0.5 s). Without p_since (bi_stuck_messages) it reads every
--   partition up to p_until.
-- Limits: the log must cover the whole lifetime: a message whose final
--   line was never ingested (rotated away, host not collected) shows as
--   stuck. Recipients that never got an attempt while others of the same
--   transaction did are not detected (no per-recipient list at receipt).

CREATE OR REPLACE FUNCTION mailtrail.report_stuck(
      p_since    timestamptz DEFAULT NULL
    , p_until    timestamptz DEFAULT NULL
    , p_host     text        DEFAULT NULL
    , p_minutes  int         DEFAULT 60)
    RETURNS TABLE (
          received_at      timestamptz
        , host             text
        , queue_id         text
        , message_id       text
        , sender           text
        , recipient        text
        , attempts         bigint
        , last_status      text
        , last_at          timestamptz
        , last_response    text
        , waiting_minutes  bigint)
    LANGUAGE sql
    STABLE
AS $$
    WITH h AS (
        SELECT m.*
        FROM mailtrail.fact_messages m
        WHERE m.received_at <= COALESCE(p_until, now()) - make_interval(mins => COALESCE(p_minutes, 60))
          AND (p_since IS NULL OR m.received_at >= p_since)
          AND (p_host IS NULL OR m.host = p_host)
    ), att AS (
        SELECT h.received_at, h.host, h.instance, h.queue_id, h.message_id, h.sender, h.msg_key,
               d.recipient, d.status, d.at, d.response
        FROM h
        LEFT JOIN LATERAL mailtrail.trace_hop_deliveries(h.host, h.instance, h.queue_id, h.received_at,
                                                         p_since, COALESCE(p_until, now())) d ON true
    ), per_rcpt AS (
        -- Only (transaction, recipient) pairs without a final attempt are
        -- aggregated (the others cannot be stuck): a hash anti-join drops
        -- the rest before the sort the ordered aggregates need. The pair is
        -- matched on the transaction's key and the recipient only, which is
        -- exact: rows of h with the same key get the same attempts.
        SELECT a.received_at, a.host, a.instance, a.queue_id, a.message_id, a.sender, a.msg_key, a.recipient,
               count(a.at) AS attempts,
               bool_or(a.status NOT IN ('deferred', 'softbounce')) AS has_final,
               (array_agg(a.status ORDER BY a.at DESC))[1] AS last_status,
               max(a.at) AS last_at,
               (array_agg(a.response ORDER BY a.at DESC))[1] AS last_response
        FROM att a
        WHERE NOT EXISTS (SELECT 1 FROM att f
                          WHERE f.host = a.host AND f.instance = a.instance AND f.queue_id = a.queue_id
                            AND f.received_at = a.received_at AND f.recipient = a.recipient
                            AND f.status NOT IN ('deferred', 'softbounce'))
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    )
    -- Two branches instead of a CASE, so that each NOT EXISTS is an anti-join
    -- rather than a subplan per row; every lookup also gets p_since as a
    -- constant lower bound (redundant: p.received_at >= p_since), so only the
    -- partitions from p_since on are planned and read.
    SELECT p.received_at, p.host::text, p.queue_id::text, p.message_id::text, p.sender, p.recipient,
           p.attempts, p.last_status, p.last_at, p.last_response,
           (extract(epoch FROM COALESCE(p_until, now()) - p.received_at) / 60)::bigint
    FROM per_rcpt p
    WHERE p.recipient IS NULL
      AND NOT EXISTS (SELECT 1 FROM mailtrail.fact_messages n
                      WHERE n.msg_key = p.msg_key
                        AND n.received_at > p.received_at
                        AND n.received_at >= COALESCE(p_since, '-infinity'::timestamptz)
                        AND n.received_at <= COALESCE(p_until, now()))
      AND NOT EXISTS (SELECT 1 FROM mailtrail.fact_rejections r
                      WHERE r.host = p.host AND r.queue_id = p.queue_id
                        AND r.at >= p.received_at
                        AND r.at >= COALESCE(p_since, '-infinity'::timestamptz)
                        AND r.at <= COALESCE(p_until, now()))
    UNION ALL
    SELECT p.received_at, p.host::text, p.queue_id::text, p.message_id::text, p.sender, p.recipient,
           p.attempts, p.last_status, p.last_at, p.last_response,
           (extract(epoch FROM COALESCE(p_until, now()) - p.received_at) / 60)::bigint
    FROM per_rcpt p
    WHERE p.recipient IS NOT NULL
      AND NOT p.has_final
      AND NOT EXISTS (SELECT 1 FROM mailtrail.fact_deliveries f
                      WHERE f.msg_key = p.msg_key
                        AND lower(f.recipient) = lower(p.recipient)
                        AND f.status NOT IN ('deferred', 'softbounce')
                        AND f.at >= p.received_at
                        AND f.at >= COALESCE(p_since, '-infinity'::timestamptz)
                        AND f.at <= COALESCE(p_until, now()))
    ORDER BY 1, 2, 3, 6;
$$;

COMMENT ON FUNCTION mailtrail.report_stuck(timestamptz, timestamptz, text, int) IS
    'As of p_until (NULL: now), transactions received at least p_minutes (default 60) before and at/after p_since with no final outcome on any host: per recipient with only deferred attempts, or (recipient NULL) with no attempt and no later hop; with attempts, last status/time/response and waiting_minutes.';
