-- ingest_open_source.sql: mailtrail.ingest_open_source(fingerprint, path, format, host_hint).
--
-- Contract: finds the caller's source by fingerprint, creating it when new
--   (path, format and host hint are updated when given), and returns its
--   checkpoint (source_id, committed_offset, committed_line, inserted).
--   Sources belong to an agent (mailtrail.ingest_agent(): the login role of
--   a restricted ingest role, '' for unrestricted loaders), so a relay never
--   sees, resumes or blocks another relay's source. A restricted agent's
--   host hint must be one of its hosts (SQLSTATE 42501 otherwise).
--   SECURITY DEFINER: ingest roles have no privilege on the tables.
-- Limits: the fingerprint is an FNV-1a of the first line, not a secret.

CREATE OR REPLACE FUNCTION mailtrail.ingest_open_source(
      p_fingerprint  text
    , p_path         text DEFAULT NULL
    , p_format       text DEFAULT NULL
    , p_host_hint    text DEFAULT NULL)
    RETURNS TABLE (source_id bigint, committed_offset bigint, committed_line bigint, inserted boolean)
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_agent  text := mailtrail.ingest_agent();
BEGIN
    IF p_fingerprint IS NULL OR p_fingerprint = '' THEN
        RAISE EXCEPTION 'ingest_open_source: the fingerprint must not be empty' USING ERRCODE = '22004';
    END IF;
    IF p_host_hint IS NOT NULL AND NOT mailtrail.agent_host_allowed(v_agent, p_host_hint) THEN
        RAISE EXCEPTION 'role % may not write rows for host %', quote_ident(v_agent), quote_literal(p_host_hint)
            USING ERRCODE = '42501'
                , HINT = 'An administrator assigns hosts with: mailtrail db grant-agent --role ROLE --hosts HOST...';
    END IF;
    RETURN QUERY
    INSERT INTO mailtrail.ingest_sources AS s (agent, fingerprint, path, format, host_hint)
    VALUES (v_agent, p_fingerprint, p_path, p_format, p_host_hint)
    ON CONFLICT ON CONSTRAINT ingest_sources_agent_fingerprint_key DO UPDATE
       SET path      = coalesce(excluded.path, s.path)
         , format    = coalesce(excluded.format, s.format)
         , host_hint = coalesce(excluded.host_hint, s.host_hint)
    RETURNING s.source_id, s.committed_offset, s.committed_line, (s.xmax = 0);
END
$$;

COMMENT ON FUNCTION mailtrail.ingest_open_source(text, text, text, text) IS
    'Find or create the caller''s source by fingerprint; returns (source_id, committed_offset, committed_line, inserted). Sources are private to their ingest agent.';
