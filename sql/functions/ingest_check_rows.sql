-- ingest_check_rows.sql: mailtrail.ingest_check_rows(), the trigger that
-- limits a restricted ingest login to its own hosts.
--
-- Contract: an AFTER INSERT ... FOR EACH STATEMENT trigger with the
--   transition table `new_rows`, on every managed day partition of the fact
--   tables (installed by mailtrail.ingest_partition_access()). It runs once
--   per COPY or INSERT statement, after all its rows are in. For an
--   unrestricted loader (mailtrail.ingest_agent() = '': superuser, owner role
--   member) it does nothing. For a restricted ingest login it raises SQLSTATE
--   42501, which aborts the statement and the whole batch transaction, when a
--   new row
--   - belongs to a host that none of the login's agent_hosts patterns
--     matches (unparsed lines without a host are accepted), or
--   - is older than the retention window (the retention_days setting; the
--     loader counts such rows as too_old instead of sending them), or
--   - (unparsed_lines) names a source that is not the login's own.
--   One aggregation over the transition table per statement (GROUP BY host),
--   then one agent_host_allowed() call per distinct host.
-- Security: SECURITY DEFINER owned by the owner role (the ingest role may
--   not read agent_hosts, settings or ingest_sources), search_path pinned
--   to pg_catalog, pg_temp; `new_rows` is a transition table, which the
--   parser resolves before any schema, so no caller object can shadow it.
--   The login is session_user (through ingest_agent()), not current_user.
-- Limits: the transition table holds a copy of the statement's rows in the
--   backend's memory (spilling to a temporary file beyond work_mem). It is
--   installed on partitions, not on the partitioned parents: on a parent, a
--   transition table makes COPY insert row by row instead of in batches
--   (measured about 10 % more backend CPU; docs/performance-history.md, "Ingest"), and a
--   plain `\copy` into the parent would pay for it too.

CREATE OR REPLACE FUNCTION mailtrail.ingest_check_rows()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_agent      text := mailtrail.ingest_agent();
    v_retention  int;
    v_first_day  timestamptz := '-infinity';
    v_bad        record;
    v_source     bigint;
BEGIN
/*
 * Refuse the statement when one of its rows is not the restricted login's to
 * write. plpgsql compiles this function once per trigger relation, so each
 * branch below is only ever planned against the table it names.
 */
    IF v_agent = '' THEN
        RETURN NULL;
    END IF;
    v_retention := coalesce((SELECT st.value::int FROM mailtrail.settings st WHERE st.key = 'retention_days'), 90);
    IF v_retention > 0 THEN
        v_first_day := (((now() AT TIME ZONE 'UTC')::date - v_retention)::timestamp) AT TIME ZONE 'UTC';
    END IF;

    -- The first offending (host, oldest row) of the statement, per table.
    IF TG_TABLE_NAME LIKE 'messages\_p%' THEN
        SELECT g.host, g.first_at INTO v_bad
          FROM (SELECT n.host, min(n.received_at) AS first_at FROM new_rows n GROUP BY n.host) g
         WHERE NOT mailtrail.agent_host_allowed(v_agent, g.host) OR g.first_at < v_first_day
         LIMIT 1;
    ELSIF TG_TABLE_NAME LIKE 'deliveries\_p%' THEN
        SELECT g.host, g.first_at INTO v_bad
          FROM (SELECT n.host, min(n.at) AS first_at FROM new_rows n GROUP BY n.host) g
         WHERE NOT mailtrail.agent_host_allowed(v_agent, g.host) OR g.first_at < v_first_day
         LIMIT 1;
    ELSIF TG_TABLE_NAME LIKE 'rejections\_p%' THEN
        SELECT g.host, g.first_at INTO v_bad
          FROM (SELECT n.host, min(n.at) AS first_at FROM new_rows n GROUP BY n.host) g
         WHERE NOT mailtrail.agent_host_allowed(v_agent, g.host) OR g.first_at < v_first_day
         LIMIT 1;
    ELSIF TG_TABLE_NAME LIKE 'unparsed\_lines\_p%' THEN
        SELECT n.source_id INTO v_source
          FROM new_rows n
         WHERE NOT EXISTS (SELECT 1 FROM mailtrail.ingest_sources s
                            WHERE s.source_id = n.source_id AND s.agent = v_agent)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'source % does not belong to agent %', v_source, quote_ident(v_agent)
                USING ERRCODE = '42501';
        END IF;
        -- A line whose host could not be read (NULL) is tied to the agent's own source.
        SELECT g.host, g.first_at INTO v_bad
          FROM (SELECT n.host, min(n.at) AS first_at FROM new_rows n GROUP BY n.host) g
         WHERE (g.host IS NOT NULL AND NOT mailtrail.agent_host_allowed(v_agent, g.host)) OR g.first_at < v_first_day
         LIMIT 1;
    ELSE
        RAISE EXCEPTION 'ingest_check_rows: %.% is not a day partition of a fact table', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = '42501';
    END IF;
    IF FOUND THEN
        IF v_bad.first_at < v_first_day THEN
            RAISE EXCEPTION 'role % may not write rows older than the retention window (% < %)'
                , quote_ident(v_agent), v_bad.first_at, v_first_day
                USING ERRCODE = '42501'
                    , HINT = 'Rows older than retention_days are counted as too_old by the loader, not sent.';
        END IF;
        RAISE EXCEPTION 'role % may not write rows for host %', quote_ident(v_agent), quote_literal(v_bad.host)
            USING ERRCODE = '42501'
                , HINT = 'An administrator assigns hosts with: mailtrail db grant-agent --role ROLE --hosts HOST...';
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mailtrail.ingest_check_rows() IS
    'Trigger on the fact day partitions (AFTER INSERT, per statement, transition table new_rows): refuses (42501) rows a restricted ingest login may not write — foreign hosts, rows older than the retention window, unparsed lines of another agent''s source.';
