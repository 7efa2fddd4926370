-- report_helpers.sql: small pure functions shared by the reports and the BI views.
--
-- What: mailtrail.report_tls_ok(proto) — TLS 1.2 or newer?;
--   mailtrail.report_domain(address) — the domain part, case-folded;
--   mailtrail.report_reason(response) — a response text reduced to what
--   groups well (no "host X[ip] said:" prefix, no "(in reply to ...)"
--   suffix, addresses replaced by "<address>").
-- Contract: IMMUTABLE plain SQL (inlined by the planner); NULL in, NULL out
--   (report_tls_ok: false for NULL, i.e. "no TLS").
-- Limits: report_tls_ok knows the spellings TLSv1.2/TLSv1.3 (Postfix,
--   Sendmail, UTM) and TLS1.2/TLS1.3 (Exim); anything else is "not
--   acceptable". report_reason is a heuristic for grouping, not a parser.

CREATE OR REPLACE FUNCTION mailtrail.report_tls_ok(p_proto text)
    RETURNS boolean
    LANGUAGE sql
    IMMUTABLE PARALLEL SAFE
AS $$
    SELECT COALESCE(upper(p_proto) IN ('TLSV1.2', 'TLSV1.3', 'TLS1.2', 'TLS1.3'), false);
$$;

COMMENT ON FUNCTION mailtrail.report_tls_ok(text) IS
    'True when a logged TLS protocol is TLS 1.2 or newer (TLSv1.2, TLSv1.3, TLS1.2, TLS1.3); false for NULL (no TLS) and older protocols.';

CREATE OR REPLACE FUNCTION mailtrail.report_domain(p_address text)
    RETURNS text
    LANGUAGE sql
    IMMUTABLE PARALLEL SAFE
AS $$
    SELECT lower(split_part(p_address, '@', -1));
$$;

COMMENT ON FUNCTION mailtrail.report_domain(text) IS
    'Domain part of an address, lower case (the whole address when it has no @; "" for the null sender). Same expression as the index deliveries_recipient_domain_idx.';

CREATE OR REPLACE FUNCTION mailtrail.report_reason(p_response text)
    RETURNS text
    LANGUAGE sql
    IMMUTABLE PARALLEL SAFE
AS $$
    SELECT regexp_replace(
               regexp_replace(
                   regexp_replace(p_response, '^host \S+ said: ', ''),
                   ' \(in reply to [^)]*\)$', ''),
               '<?[^\s<>()@]+@[^\s<>()@]+>?', '<address>', 'g');
$$;

COMMENT ON FUNCTION mailtrail.report_reason(text) IS
    'A delivery response or refusal text reduced for grouping: without the "host NAME[IP] said: " prefix and the "(in reply to ... command)" suffix, every address replaced by <address>.';
