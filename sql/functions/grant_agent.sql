-- grant_agent.sql: mailtrail.grant_agent(role, hosts[]), behind `mailtrail db grant-agent`.
--
-- Contract: lets the existing login role p_role ingest rows for the given
--   host names or glob patterns (* any characters, ? one): adds them to
--   mailtrail.agent_hosts (already present ones are kept) and makes the role
--   a member of <roles_prefix>_ingest. Returns every pattern the role now
--   has, sorted. Refuses (SQLSTATE 42704) a role that does not exist,
--   (42501) a superuser or owner-role member (their writes are never
--   restricted, so a host list would be a lie), and (22023) empty patterns
--   or patterns with blanks or control characters.
-- Limits: SECURITY INVOKER: run by a superuser, or by a member of the owner
--   role that holds ADMIN on the ingest role. Role membership is
--   cluster-wide; the host list belongs to this database.

CREATE OR REPLACE FUNCTION mailtrail.grant_agent(p_role text, p_hosts text[])
    RETURNS TABLE (agent text, host_pattern text)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_prefix  text := (SELECT s.value FROM mailtrail.settings s WHERE s.key = 'roles_prefix');
    v_ingest  text := v_prefix || '_ingest';
    v_owner   text := v_prefix || '_owner';
    v_super   boolean;
    v_host    text;
BEGIN
    SELECT r.rolsuper INTO v_super FROM pg_catalog.pg_roles r WHERE r.rolname = p_role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % does not exist', quote_ident(p_role)
            USING ERRCODE = '42704'
                , HINT = format('Create the login role first, e.g. in psql: CREATE ROLE %I LOGIN; then \password %I (or use client certificates).', p_role, p_role);
    END IF;
    IF v_super OR pg_catalog.pg_has_role(p_role, v_owner, 'MEMBER') THEN
        RAISE EXCEPTION 'role % is a superuser or a member of %; its writes cannot be restricted to hosts', quote_ident(p_role), v_owner
            USING ERRCODE = '42501'
                , HINT = 'Give each relay its own ordinary login role.';
    END IF;
    IF p_hosts IS NULL OR cardinality(p_hosts) = 0 THEN
        RAISE EXCEPTION 'grant_agent: give at least one host name or pattern' USING ERRCODE = '22023';
    END IF;
    FOREACH v_host IN ARRAY p_hosts LOOP
        IF v_host IS NULL OR v_host = '' OR v_host ~ '[[:cntrl:][:space:]]' THEN
            RAISE EXCEPTION 'grant_agent: host pattern % is empty or contains blanks or control characters', quote_literal(v_host)
                USING ERRCODE = '22023';
        END IF;
        INSERT INTO mailtrail.agent_hosts (agent, host_pattern) VALUES (p_role, v_host)
        ON CONFLICT ON CONSTRAINT agent_hosts_pkey DO NOTHING;
    END LOOP;
    IF NOT pg_catalog.pg_has_role(p_role, v_ingest, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', v_ingest, p_role);
    END IF;
    RETURN QUERY
    SELECT a.agent::text, a.host_pattern::text FROM mailtrail.agent_hosts a
     WHERE a.agent = p_role COLLATE "C" ORDER BY a.host_pattern;
END
$$;

COMMENT ON FUNCTION mailtrail.grant_agent(text, text[]) IS
    'Internal: let login role p_role ingest rows of these hosts (names or globs); adds agent_hosts rows and membership in <prefix>_ingest. Used by mailtrail db grant-agent.';
