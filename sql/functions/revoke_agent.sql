-- revoke_agent.sql: mailtrail.revoke_agent(role, hosts[]), behind `mailtrail db revoke-agent`.
--
-- Contract: removes the given host patterns (exactly as granted) from the
--   role's agent_hosts rows, or all of them when p_hosts is NULL or empty;
--   when the role has no pattern left in this database, its membership in
--   <roles_prefix>_ingest is revoked too. Returns the patterns that remain
--   (none: the role can no longer ingest here). Unknown patterns are not an
--   error (nothing to remove).
-- Limits: SECURITY INVOKER (superuser or an owner-role member with ADMIN on
--   the ingest role). Membership is cluster-wide: revoking it also stops
--   the role in other databases that share the prefix.

CREATE OR REPLACE FUNCTION mailtrail.revoke_agent(p_role text, p_hosts text[] DEFAULT NULL)
    RETURNS TABLE (agent text, host_pattern text)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ingest  text := (SELECT s.value FROM mailtrail.settings s WHERE s.key = 'roles_prefix') || '_ingest';
BEGIN
    IF p_hosts IS NULL OR cardinality(p_hosts) = 0 THEN
        DELETE FROM mailtrail.agent_hosts a WHERE a.agent = p_role COLLATE "C";
    ELSE
        DELETE FROM mailtrail.agent_hosts a
         WHERE a.agent = p_role COLLATE "C" AND a.host_pattern = ANY (p_hosts COLLATE "C");
    END IF;
    IF NOT EXISTS (SELECT 1 FROM mailtrail.agent_hosts a WHERE a.agent = p_role COLLATE "C")
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = p_role)
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                    WHERE m.member = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = p_role)
                      AND m.roleid = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = v_ingest)) THEN
        EXECUTE format('REVOKE %I FROM %I', v_ingest, p_role);
    END IF;
    RETURN QUERY
    SELECT a.agent::text, a.host_pattern::text FROM mailtrail.agent_hosts a
     WHERE a.agent = p_role COLLATE "C" ORDER BY a.host_pattern;
END
$$;

COMMENT ON FUNCTION mailtrail.revoke_agent(text, text[]) IS
    'Internal: remove host patterns (all when NULL) from a login role; without patterns left it leaves <prefix>_ingest. Used by mailtrail db revoke-agent.';
