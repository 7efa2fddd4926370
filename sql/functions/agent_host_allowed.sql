-- agent_host_allowed.sql: mailtrail.agent_host_allowed(agent, host) -> boolean.
--
-- Contract: true when agent '' (unrestricted) or when one of the agent's
--   mailtrail.agent_hosts patterns matches host: equal, or a glob where `*`
--   stands for any characters and `?` for one (other LIKE metacharacters in
--   the pattern are literal). Byte-wise, case-sensitive (COLLATE "C").
--   NULL host: false for a restricted agent.
-- Limits: one LIKE per pattern of the agent; agents have few patterns.

CREATE OR REPLACE FUNCTION mailtrail.agent_host_allowed(p_agent text, p_host text)
    RETURNS boolean
    LANGUAGE sql
    STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p_agent = ''
        OR EXISTS (
            SELECT 1
              FROM mailtrail.agent_hosts a
             WHERE a.agent = p_agent COLLATE "C"
               AND (a.host_pattern = p_host COLLATE "C"
                    OR p_host COLLATE "C" LIKE
                       replace(replace(replace(replace(replace(a.host_pattern
                           , '\', '\\'), '%', '\%'), '_', '\_'), '*', '%'), '?', '_')));
$$;

COMMENT ON FUNCTION mailtrail.agent_host_allowed(text, text) IS
    'Internal: may this agent ('''' = unrestricted) write rows of this host? Exact name or glob (*, ?) from mailtrail.agent_hosts.';
