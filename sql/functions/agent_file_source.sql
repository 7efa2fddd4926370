-- agent_file_source.sql: mailtrail.agent_file_source(agent, path) -> the
-- source a followed path was reading at the agent's last commit.
--
-- Contract: returns at most one row (fingerprint, committed_offset) of the
--   source recorded in agent_files for (agent, path); the agent uses it after
--   a restart to find the file it was reading among the rotated copies.
--   SECURITY DEFINER: a restricted ingest login reads only its own rows (its
--   login role is the agent name, see agent_note_file).
-- Limits: none beyond agent_files' (as of the last commit).

CREATE OR REPLACE FUNCTION mailtrail.agent_file_source(p_agent text, p_path text)
    RETURNS TABLE (fingerprint text, committed_offset bigint)
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.fingerprint, s.committed_offset
      FROM mailtrail.agent_files f
      JOIN mailtrail.ingest_sources s ON s.source_id = f.source_id
     WHERE f.path = p_path
       AND f.agent = CASE WHEN mailtrail.ingest_agent() = '' THEN p_agent ELSE mailtrail.ingest_agent() END;
$$;

COMMENT ON FUNCTION mailtrail.agent_file_source(text, text) IS
    'Internal: fingerprint and committed offset of the source (agent, path) read at its last commit; used by mailtrail agent after a restart.';
