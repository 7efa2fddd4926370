-- report_dkim.sql: DKIM signing and verification (`mailtrail report dkim`).
--
-- What: mailtrail.report_dkim(p_since, p_until, p_host) — first a total row
--   (domain '*'), then one row per signing domain ('(unsigned)' for e-mails
--   with no signature result): e-mails, e-mails with a DKIM result logged,
--   signed, verified (pass), failed, and the shares signed/verified.
-- Contract: counted per e-mail (msg_key), not per hop, over transactions
--   received in [p_since, p_until] on p_host when given. An e-mail is
--   signed when any hop logged a result other than 'none', verified when
--   any hop logged 'pass', failed when signed and never 'pass'; its domain
--   is the d= of a passing signature, else of any. Shares in percent (one
--   decimal) of the row's e-mails. Domain rows ordered by e-mails
--   descending, then domain.
-- Limits: only MTAs that log DKIM results fill dkim_result (Exim DKIM:,
--   UTM, Postfix with a milter's log lines); e-mails whose hops logged
--   nothing count as '(unsigned)' with logged = 0 — read `logged` before
--   concluding that mail is unsigned.

CREATE OR REPLACE FUNCTION mailtrail.report_dkim(
      p_since  timestamptz DEFAULT NULL
    , p_until  timestamptz DEFAULT NULL
    , p_host   text        DEFAULT NULL)
    RETURNS TABLE (
          domain        text
        , emails        bigint
        , logged        bigint
        , signed        bigint
        , verified      bigint
        , failed        bigint
        , signed_pct    numeric
        , verified_pct  numeric)
    LANGUAGE sql
    STABLE
AS $$
    WITH e AS (
        SELECT m.msg_key,
               bool_or(m.dkim_result IS NOT NULL) AS logged,
               bool_or(m.dkim_result IS NOT NULL AND lower(m.dkim_result) <> 'none') AS signed,
               bool_or(lower(m.dkim_result) = 'pass') AS verified,
               COALESCE(min(lower(m.dkim_domain)) FILTER (WHERE lower(m.dkim_result) = 'pass'),
                        min(lower(m.dkim_domain)) FILTER (WHERE m.dkim_result IS NOT NULL
                                                            AND lower(m.dkim_result) <> 'none')) AS domain
        FROM mailtrail.fact_messages m
        WHERE (p_since IS NULL OR m.received_at >= p_since)
          AND (p_until IS NULL OR m.received_at <= p_until)
          AND (p_host IS NULL OR m.host = p_host)
        GROUP BY m.msg_key
    ), g AS (
        SELECT CASE WHEN grouping(COALESCE(e.domain, CASE WHEN e.signed THEN '(unknown)' ELSE '(unsigned)' END)) = 1
                    THEN '*'
                    ELSE COALESCE(e.domain, CASE WHEN e.signed THEN '(unknown)' ELSE '(unsigned)' END) END AS domain,
               count(*) AS emails,
               count(*) FILTER (WHERE e.logged) AS logged,
               count(*) FILTER (WHERE e.signed) AS signed,
               count(*) FILTER (WHERE e.verified) AS verified,
               count(*) FILTER (WHERE e.signed AND NOT e.verified) AS failed
        FROM e
        GROUP BY ROLLUP (COALESCE(e.domain, CASE WHEN e.signed THEN '(unknown)' ELSE '(unsigned)' END))
    )
    SELECT g.domain, g.emails, g.logged, g.signed, g.verified, g.failed,
           round(100.0 * g.signed / NULLIF(g.emails, 0), 1),
           round(100.0 * g.verified / NULLIF(g.emails, 0), 1)
    FROM g
    ORDER BY g.domain <> '*', g.emails DESC, g.domain;
$$;

COMMENT ON FUNCTION mailtrail.report_dkim(timestamptz, timestamptz, text) IS
    'DKIM per e-mail (msg_key): a total row (domain *) and one per signing domain ((unsigned) = no signature result): e-mails, with a result logged, signed, verified (pass), failed, signed_pct, verified_pct.';
