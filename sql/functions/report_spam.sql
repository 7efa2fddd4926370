-- report_spam.sql: spam scanner verdicts (`mailtrail report spam`).
--
-- What: mailtrail.report_spam(p_since, p_until, p_host) — per host and
--   verdict: transactions, their share of the host's transactions, and the
--   minimum, average and maximum score.
-- Contract: transactions received in [p_since, p_until], on p_host when
--   given; verdict as logged, '(none)' when no scanner verdict was logged.
--   Scores rounded to two decimals (NULL when none logged). Ordered by
--   host, transactions descending, verdict.
-- Limits: verdict words differ per scanner (see messages.spam_verdict);
--   they are not normalised.

CREATE OR REPLACE FUNCTION mailtrail.report_spam(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          host       text
        , verdict    text
        , messages   bigint
        , pct        numeric
        , min_score  numeric
        , avg_score  numeric
        , max_score  numeric)
    LANGUAGE sql
    STABLE
AS $$
    SELECT m.host::text, COALESCE(m.spam_verdict, '(none)'), count(*),
           round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY m.host), 1),
           round(min(m.spam_score)::numeric, 2), round(avg(m.spam_score)::numeric, 2),
           round(max(m.spam_score)::numeric, 2)
    FROM mailtrail.fact_messages m
    WHERE (p_since IS NULL OR m.received_at >= p_since)
      AND (p_until IS NULL OR m.received_at <= p_until)
      AND (p_host IS NULL OR m.host = p_host)
    GROUP BY 1, 2
    ORDER BY 1, 3 DESC, 2;
$$;

COMMENT ON FUNCTION mailtrail.report_spam(timestamptz, timestamptz, text) IS
    'Spam verdicts per host: transactions per verdict ((none) = no verdict logged), share of the host''s transactions, min/avg/max score.';
