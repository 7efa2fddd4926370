-- ingest_correlator_states.sql: mailtrail.ingest_correlator_states().
--
-- Contract: the saved correlator states (host, version, state) the caller
--   may use: all for an unrestricted loader, only its assigned hosts for a
--   restricted ingest agent (mailtrail.agent_host_allowed). Ordered by host.
--   SECURITY DEFINER: ingest roles cannot read correlator_state directly.
-- Limits: returns every state at once (one row per host).

CREATE OR REPLACE FUNCTION mailtrail.ingest_correlator_states()
    RETURNS TABLE (host text, version bigint, state bytea)
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_agent  text := mailtrail.ingest_agent();
BEGIN
    RETURN QUERY
    SELECT cs.host, cs.version, cs.state
      FROM mailtrail.correlator_state cs
     WHERE mailtrail.agent_host_allowed(v_agent, cs.host)
     ORDER BY cs.host;
END
$$;

COMMENT ON FUNCTION mailtrail.ingest_correlator_states() IS
    'Saved correlator states (host, version, state) of the hosts the caller may write.';
