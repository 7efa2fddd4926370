-- ingest_agent.sql: mailtrail.ingest_agent() -> text.
--
-- Contract: the agent name the ingest routines restrict by: '' (no
--   restriction) when the login role (session_user) is a superuser or a
--   member of the owner role (<roles_prefix>_owner), else the login role's
--   name, whose rows are limited to the hosts in mailtrail.agent_hosts.
--   session_user, not current_user: inside the SECURITY DEFINER ingest
--   routines current_user is the owner; the login is what authenticated.
-- Limits: a superuser's SET SESSION AUTHORIZATION changes session_user (only
--   superusers can do that). Not executable by PUBLIC (apply_security()).

CREATE OR REPLACE FUNCTION mailtrail.ingest_agent()
    RETURNS text
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner  text;
BEGIN
    IF coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user), false) THEN
        RETURN '';
    END IF;
    SELECT s.value || '_owner' INTO v_owner FROM mailtrail.settings s WHERE s.key = 'roles_prefix';
    IF v_owner IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = v_owner)
       AND pg_catalog.pg_has_role(session_user, v_owner, 'MEMBER') THEN
        RETURN '';
    END IF;
    RETURN session_user::text;
END
$$;

COMMENT ON FUNCTION mailtrail.ingest_agent() IS
    'Internal: '''' when the login role is unrestricted (superuser or member of <prefix>_owner), else the login role name whose writes agent_hosts limits.';
