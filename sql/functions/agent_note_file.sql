-- agent_note_file.sql: mailtrail.agent_note_file(...), the agent's per-batch bookkeeping.
--
-- Contract: called by `mailtrail agent` inside the transaction of each batch
--   it commits (after ingest_checkpoint, before COMMIT): upserts the row of
--   (agent, followed path) with the source it reads now, the file identity
--   and the lag. Separate from ingest_checkpoint on purpose (ingest does not
--   need it). SECURITY DEFINER: a restricted ingest login (mailtrail.ingest_agent()
--   not '') is recorded under its login role whatever p_agent says, and may
--   only name a source that it registered itself (42501 otherwise), so one
--   relay cannot rewrite another's status.
-- Limits: the lag is what the agent saw at commit time; a stopped agent's
--   row does not age (look at updated_at).

CREATE OR REPLACE FUNCTION mailtrail.agent_note_file(
      p_path          text
    , p_agent         text
    , p_source_id     bigint
    , p_device        bigint
    , p_inode         bigint
    , p_file_size     bigint
    , p_lag_bytes     bigint
    , p_lag_seconds   double precision
    , p_last_line_at  timestamptz)
    RETURNS void
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_restricted  text := mailtrail.ingest_agent();
    v_agent       text := CASE WHEN v_restricted = '' THEN p_agent ELSE v_restricted END;
BEGIN
    IF v_restricted <> '' AND NOT EXISTS (
        SELECT 1 FROM mailtrail.ingest_sources s WHERE s.source_id = p_source_id AND s.agent = v_restricted)
    THEN
        RAISE EXCEPTION 'source % does not belong to agent %', p_source_id, v_restricted
            USING ERRCODE = '42501';
    END IF;
    INSERT INTO mailtrail.agent_files AS f
          (path, agent, source_id, device, inode, file_size, lag_bytes, lag_seconds, last_line_at, updated_at)
    VALUES (p_path, v_agent, p_source_id, p_device, p_inode, p_file_size, greatest(p_lag_bytes, 0),
            greatest(p_lag_seconds, 0), p_last_line_at, now())
    ON CONFLICT (agent, path) DO UPDATE
       SET source_id = excluded.source_id, device = excluded.device
         , inode = excluded.inode, file_size = excluded.file_size, lag_bytes = excluded.lag_bytes
         , lag_seconds = excluded.lag_seconds
         , last_line_at = coalesce(excluded.last_line_at, f.last_line_at)
         , updated_at = now();
END
$$;

COMMENT ON FUNCTION mailtrail.agent_note_file(text, text, bigint, bigint, bigint, bigint, bigint, double precision, timestamptz) IS
    'Agent bookkeeping written with each batch: (agent, followed path) -> current source, file identity, lag.';
