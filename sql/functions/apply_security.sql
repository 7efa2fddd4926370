-- apply_security.sql: mailtrail.apply_security(), the roles and privileges.
--
-- What: run by `mailtrail db migrate` at the end of every migrate, after the
--   function files (CREATE OR REPLACE resets SECURITY DEFINER and SET
--   clauses, so they are re-applied here). With P = settings.roles_prefix:
--   1. creates, when missing, the NOLOGIN group roles P_owner,
--      P_maintenance, P_ingest, P_reader (cluster-wide; a concurrent
--      creation elsewhere is tolerated);
--   2. makes P_owner the owner of the schema and of every table, partition,
--      view, sequence, routine, domain and composite type in it (a non-superuser migrator is
--      made a member of P_owner first);
--   3. revokes everything from PUBLIC and the three other roles on every
--      relation and routine of the schema, then grants by rule:
--      - everyone of the three: USAGE on the schema;
--      - P_reader: SELECT on views named fact_*, report_* and bi_*, EXECUTE
--        on the functions search, report_*, trace* and message_key; no
--        table at all. Those functions stay SECURITY INVOKER (a SECURITY
--        DEFINER function is not inlined, and then its time bounds cannot
--        prune day partitions: the benchmark measured search and reports
--        over 10 s instead of ms) and read the facts through the views
--        fact_messages, fact_deliveries, fact_rejections, which run with the
--        owner's rights and are pulled up by the planner like the tables;
--      - P_ingest: EXECUTE on ingest_open_source, ingest_batch_begin,
--        ingest_checkpoint, ingest_correlator_states, ingest_save_state,
--        agent_note_file, agent_file_source (all SECURITY DEFINER), and
--        INSERT only on the fact tables' day partitions, each guarded by its
--        ingest_check_rows trigger (ingest_partition_access());
--      - P_maintenance: EXECUTE on run_maintenance, ensure_day_partitions,
--        drop_expired_partitions; SELECT on the bookkeeping tables, UPDATE
--        of settings.value.
--   The only grant on a partition is P_ingest's INSERT: readers reach
--   partitions through the fact_* views, and new ones (created by the SECURITY
--   DEFINER routines, so owned by P_owner) get nothing else.
-- Contract: idempotent; returns one row per role with what it is.
-- Limits: needs CREATEROLE (or existing roles) and the right to transfer
--   ownership (superuser, or membership in P_owner). Roles of another prefix
--   used before are left alone.

CREATE OR REPLACE FUNCTION mailtrail.apply_security()
    RETURNS TABLE (role_name text, purpose text)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_prefix  text;
    v_owner   text;
    v_maint   text;
    v_ingest  text;
    v_reader  text;
    v_owner_oid oid;
    v_role    text;
    v_rec     record;
    v_kind    text;
BEGIN
    SELECT s.value INTO v_prefix FROM mailtrail.settings s WHERE s.key = 'roles_prefix';
    IF v_prefix IS NULL OR v_prefix !~ '^[a-z_][a-z0-9_]{0,40}$' THEN
        RAISE EXCEPTION 'apply_security: roles_prefix % is not a lower-case identifier of at most 41 characters', quote_literal(v_prefix)
            USING ERRCODE = '22023';
    END IF;
    v_owner := v_prefix || '_owner';
    v_maint := v_prefix || '_maintenance';
    v_ingest := v_prefix || '_ingest';
    v_reader := v_prefix || '_reader';

    -- 1. The group roles.
    FOREACH v_role IN ARRAY ARRAY[v_owner, v_maint, v_ingest, v_reader] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = v_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created concurrently by a migrate of another database
            END;
        END IF;
    END LOOP;
    SELECT r.oid INTO v_owner_oid FROM pg_catalog.pg_roles r WHERE r.rolname = v_owner;

    IF NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false)
       AND NOT pg_catalog.pg_has_role(current_user, v_owner, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', v_owner, current_user);
    END IF;
    IF NOT pg_catalog.has_database_privilege(v_owner, current_database(), 'TEMPORARY') THEN
        EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), v_owner);
    END IF;

    -- 2. Ownership.
    IF (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = 'mailtrail') <> v_owner_oid THEN
        EXECUTE format('ALTER SCHEMA mailtrail OWNER TO %I', v_owner);
    END IF;
    FOR v_rec IN
        SELECT c.oid::regclass AS rel, c.relkind
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'mailtrail'::regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND c.relowner <> v_owner_oid
           -- sequences owned by a column follow their table
           AND NOT (c.relkind = 'S' AND EXISTS (
                   SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype IN ('a', 'i')))
    LOOP
        v_kind := CASE v_rec.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                     WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END;
        EXECUTE format('ALTER %s %s OWNER TO %I', v_kind, v_rec.rel, v_owner);
    END LOOP;
    FOR v_rec IN
        SELECT p.oid::regprocedure AS fn
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'mailtrail'::regnamespace
           AND p.prokind IN ('f', 'p')
           AND p.proowner <> v_owner_oid
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO %I', v_rec.fn, v_owner);
    END LOOP;
    FOR v_rec IN
        SELECT t.oid::regtype AS typ
          FROM pg_catalog.pg_type t
         WHERE t.typnamespace = 'mailtrail'::regnamespace
           AND (t.typtype IN ('d', 'e')
                -- stand-alone composite types (not the row types of tables and views)
                OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                                                 WHERE c.oid = t.typrelid AND c.relkind = 'c')))
           AND t.typowner <> v_owner_oid
    LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO %I', v_rec.typ, v_owner);
    END LOOP;

    -- 3. Privileges: start from nothing, then grant by rule.
    EXECUTE format('REVOKE ALL ON SCHEMA mailtrail FROM PUBLIC');
    EXECUTE format('GRANT USAGE ON SCHEMA mailtrail TO %I, %I, %I', v_maint, v_ingest, v_reader);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC', v_owner);

    FOR v_rec IN
        SELECT c.oid::regclass AS rel, c.relname, c.relkind
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'mailtrail'::regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC, %I, %I, %I', v_rec.rel, v_maint, v_ingest, v_reader);
        -- The reader's functions run with its own rights (see below) and read the facts
        -- through the fact_* views, which read the tables with the owner's rights; so the
        -- reader needs no table: no fact parent, partition, bookkeeping table or unparsed line.
        IF v_rec.relkind IN ('v', 'm')
           AND (v_rec.relname LIKE 'report\_%' OR v_rec.relname LIKE 'bi\_%' OR v_rec.relname LIKE 'fact\_%') THEN
            EXECUTE format('GRANT SELECT ON %s TO %I', v_rec.rel, v_reader);
        END IF;
    END LOOP;
    EXECUTE format('GRANT SELECT ON mailtrail.settings, mailtrail.schema_version, mailtrail.ingest_sources, '
                   'mailtrail.ingest_counts, mailtrail.agent_hosts TO %I', v_maint);
    EXECUTE format('GRANT UPDATE (value) ON mailtrail.settings TO %I', v_maint);

    FOR v_rec IN
        SELECT p.oid::regprocedure AS fn, p.proname, p.provolatile
             , coalesce(pg_catalog.obj_description(p.oid, 'pg_proc'), '') AS note
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'mailtrail'::regnamespace
           AND p.prokind IN ('f', 'p')
    LOOP
        EXECUTE format('REVOKE ALL ON ROUTINE %s FROM PUBLIC, %I, %I, %I', v_rec.fn, v_maint, v_ingest, v_reader);
        IF v_rec.proname = 'search' OR v_rec.proname LIKE 'report\_%' OR v_rec.proname LIKE 'trace%' THEN
            -- SECURITY INVOKER on purpose: a SECURITY DEFINER (or SET) function is never
            -- inlined, so its time bounds could not prune day partitions at plan time
            -- (search and reports went from milliseconds to over 10 s on 90 days).
            EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', v_rec.fn, v_reader);
        ELSIF v_rec.proname = 'message_key' THEN
            -- a pure hash the trace functions call (and a reader may, to join hops)
            EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', v_rec.fn, v_reader);
        ELSIF v_rec.proname IN ('ingest_open_source', 'ingest_batch_begin', 'ingest_checkpoint',
                                'ingest_correlator_states', 'ingest_save_state',
                                'agent_note_file', 'agent_file_source') THEN
            EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', v_rec.fn, v_ingest);
        ELSIF v_rec.proname IN ('run_maintenance', 'ensure_day_partitions', 'drop_expired_partitions') THEN
            EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', v_rec.fn, v_maint);
        END IF;
    END LOOP;

    -- The ingest role COPYs straight into day partitions: INSERT, behind the check trigger.
    PERFORM mailtrail.ingest_partition_access(c.oid)
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid
       JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
      WHERE pc.relnamespace = 'mailtrail'::regnamespace
        AND pc.relname IN ('messages', 'deliveries', 'rejections', 'unparsed_lines')
        AND c.relname ~ ('^' || pc.relname || '_p[0-9]{8}$');

    role_name := v_owner;  purpose := 'owner of the schema (NOLOGIN; migrations, SECURITY DEFINER routines)'; RETURN NEXT;
    role_name := v_maint;  purpose := 'maintenance: run_maintenance(), settings'; RETURN NEXT;
    role_name := v_ingest; purpose := 'ingest agents: COPY into day partitions, for their assigned hosts only'; RETURN NEXT;
    role_name := v_reader; purpose := 'reader: fact_*/report_*/bi_* views, search/report_*/trace* functions'; RETURN NEXT;
END
$$;

COMMENT ON FUNCTION mailtrail.apply_security() IS
    'Internal: create the group roles <roles_prefix>_owner/_maintenance/_ingest/_reader, give the schema to the owner and grant by rule; run by mailtrail db migrate.';
