-- ingest_lock_source.sql: mailtrail.ingest_lock_source(...), the checkpoint check both batch steps make.
--
-- Contract: locks the row of p_source_id in ingest_sources (FOR UPDATE,
--   held until the caller's transaction ends) and checks that its
--   committed_offset is p_expected_offset. Raises SQLSTATE 'MT002' for an
--   unknown source, or one of another agent when p_agent <> '' (the
--   restricted login's name, mailtrail.ingest_agent()), and 'MT001' when
--   another writer has moved the checkpoint; the message starts with
--   p_caller so the error names the step that found it.
-- Security: internal; called by the SECURITY DEFINER routines
--   ingest_batch_begin() and ingest_checkpoint(), so it runs as the owner;
--   no role is granted EXECUTE (apply_security()).
-- Limits: none known.

CREATE OR REPLACE FUNCTION mailtrail.ingest_lock_source(
      p_caller           text
    , p_source_id        bigint
    , p_expected_offset  bigint
    , p_agent            text)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_committed  bigint;
BEGIN
    SELECT s.committed_offset INTO v_committed
      FROM mailtrail.ingest_sources s
     WHERE s.source_id = p_source_id
       AND (p_agent = '' OR s.agent = p_agent)
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: unknown source_id %', p_caller, p_source_id
            USING ERRCODE = 'MT002', HINT = 'Register the source with mailtrail.ingest_open_source() first.';
    END IF;
    IF v_committed <> p_expected_offset THEN
        RAISE EXCEPTION '%: source % is committed up to offset %, this batch starts at %: another ingest wrote this source concurrently'
            , p_caller, p_source_id, v_committed, p_expected_offset
            USING ERRCODE = 'MT001'
                , HINT = 'Run the ingest again; it resumes from the committed offset.';
    END IF;
END
$$;

COMMENT ON FUNCTION mailtrail.ingest_lock_source(text, bigint, bigint, text) IS
    'Internal: locks a source''s checkpoint row and raises MT001/MT002 unless it is committed up to the expected offset (used by ingest_batch_begin and ingest_checkpoint).';
