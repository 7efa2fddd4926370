-- ingest_save_state.sql: mailtrail.ingest_save_state(host, expected_version, state) -> bigint.
--
-- Contract: writes one host's correlator state inside the caller's batch
--   transaction if its stored version is still p_expected (0 = no row yet)
--   and returns the new version (1 for a new row, else +1). A version
--   mismatch raises SQLSTATE 'MT001' ("another ingest is writing host X
--   concurrently"), so the batch rolls back with its rows and checkpoint.
--   A restricted ingest agent may only write its assigned hosts (42501).
--   SECURITY DEFINER: ingest roles have no privilege on correlator_state.
-- Limits: the state is opaque bytes; its size is not limited here.

CREATE OR REPLACE FUNCTION mailtrail.ingest_save_state(p_host text, p_expected bigint, p_state bytea)
    RETURNS bigint
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_agent    text := mailtrail.ingest_agent();
    v_version  bigint;
BEGIN
    IF p_host IS NULL OR p_expected IS NULL OR p_state IS NULL OR p_expected < 0 THEN
        RAISE EXCEPTION 'ingest_save_state: host, expected version (>= 0) and state must be given'
            USING ERRCODE = '22004';
    END IF;
    IF NOT mailtrail.agent_host_allowed(v_agent, p_host) THEN
        RAISE EXCEPTION 'role % may not write the correlator state of host %', quote_ident(v_agent), quote_literal(p_host)
            USING ERRCODE = '42501'
                , HINT = 'An administrator assigns hosts with: mailtrail db grant-agent --role ROLE --hosts HOST...';
    END IF;
    IF p_expected = 0 THEN
        INSERT INTO mailtrail.correlator_state AS cs (host, state, version, updated_at)
        VALUES (p_host, p_state, 1, now())
        ON CONFLICT (host) DO NOTHING
        RETURNING cs.version INTO v_version;
    ELSE
        UPDATE mailtrail.correlator_state cs
           SET state = p_state, version = cs.version + 1, updated_at = now()
         WHERE cs.host = p_host AND cs.version = p_expected
        RETURNING cs.version INTO v_version;
    END IF;
    IF v_version IS NULL THEN
        SELECT cs.version INTO v_version FROM mailtrail.correlator_state cs WHERE cs.host = p_host;
        RAISE EXCEPTION 'another ingest is writing host % concurrently: its correlator state is at %, this batch expected %'
            , p_host
            , coalesce('version ' || v_version, 'no saved state')
            , CASE WHEN p_expected = 0 THEN 'no saved state' ELSE 'version ' || p_expected END
            USING ERRCODE = 'MT001'
                , HINT = 'Run one ingest per host at a time; rerun this one, it resumes from the committed checkpoint.';
    END IF;
    RETURN v_version;
END
$$;

COMMENT ON FUNCTION mailtrail.ingest_save_state(text, bigint, bytea) IS
    'Save one host''s correlator state with an optimistic version check (MT001 on mismatch); restricted agents only for their hosts.';
