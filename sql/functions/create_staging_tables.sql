-- create_staging_tables.sql: mailtrail.create_staging_tables().
--
-- Contract: creates, when missing, this session's TEMP staging tables that
--   ingest_merge() reads, all ON COMMIT DELETE ROWS (they are empty at the
--   start of every transaction):
--     pg_temp.stage_messages    (LIKE mailtrail.messages)
--     pg_temp.stage_deliveries  (LIKE mailtrail.deliveries)
--     pg_temp.stage_rejections  (LIKE mailtrail.rejections)
--     pg_temp.stage_unparsed    (at, host, line_number, byte_offset, reason, raw)
--     pg_temp.stage_counts      (host, lines_read, parsed, ignored, unparsed)
--   The loader COPYs into them with an explicit column list. Returns true
--   when it created anything. Silent when they exist (no NOTICE).
--   SECURITY DEFINER: the tables belong to the owner role, the session gets
--   INSERT only (granted to PUBLIC: a temporary table is reachable from its
--   own session alone). So the caller cannot add rules, triggers, row
--   security or odd column types that would run its code with the owner's
--   rights when ingest_merge() reads them; a same-named table the caller
--   made itself is refused (SQLSTATE 42501).
-- Limits: LIKE copies columns and NOT NULL only (no CHECK, no index), so a
--   bad status is caught by the INSERT in ingest_merge, not by the COPY.
--   Tables created inside a transaction that rolls back are gone again.

CREATE OR REPLACE FUNCTION mailtrail.create_staging_tables()
    RETURNS boolean
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_created boolean := false;
    v_name    text;
BEGIN
/*
 * Session-local staging for one batch. The fact tables are never COPY
 * targets themselves, which keeps row-level security / SECURITY DEFINER
 * merging possible.
 */
    IF to_regclass('pg_temp.stage_messages') IS NULL THEN
        CREATE TEMPORARY TABLE pg_temp.stage_messages (LIKE mailtrail.messages) ON COMMIT DELETE ROWS;
        v_created := true;
    END IF;
    IF to_regclass('pg_temp.stage_deliveries') IS NULL THEN
        CREATE TEMPORARY TABLE pg_temp.stage_deliveries (LIKE mailtrail.deliveries) ON COMMIT DELETE ROWS;
        v_created := true;
    END IF;
    IF to_regclass('pg_temp.stage_rejections') IS NULL THEN
        CREATE TEMPORARY TABLE pg_temp.stage_rejections (LIKE mailtrail.rejections) ON COMMIT DELETE ROWS;
        v_created := true;
    END IF;
    IF to_regclass('pg_temp.stage_unparsed') IS NULL THEN
        CREATE TEMPORARY TABLE pg_temp.stage_unparsed (
              at           timestamptz NOT NULL
            , host         text
            , line_number  bigint      NOT NULL
            , byte_offset  bigint      NOT NULL
            , reason       text        NOT NULL
            , raw          bytea       NOT NULL
        ) ON COMMIT DELETE ROWS;
        v_created := true;
    END IF;
    IF to_regclass('pg_temp.stage_counts') IS NULL THEN
        CREATE TEMPORARY TABLE pg_temp.stage_counts (
              host        text   NOT NULL
            , lines_read  bigint NOT NULL DEFAULT 0
            , parsed      bigint NOT NULL DEFAULT 0
            , ignored     bigint NOT NULL DEFAULT 0
            , unparsed    bigint NOT NULL DEFAULT 0
        ) ON COMMIT DELETE ROWS;
        v_created := true;
    END IF;
    -- Every staging table must be a plain table of ours (not one the caller
    -- created first under the same name), insertable by the session.
    FOREACH v_name IN ARRAY ARRAY['stage_messages', 'stage_deliveries', 'stage_rejections', 'stage_unparsed', 'stage_counts'] LOOP
        IF NOT EXISTS (SELECT 1
                         FROM pg_catalog.pg_class c
                        WHERE c.oid = pg_catalog.to_regclass('pg_temp.' || v_name)
                          AND c.relkind = 'r'
                          AND c.relpersistence = 't'
                          AND c.relowner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
                          AND NOT c.relrowsecurity
                          AND NOT c.relhasrules
                          AND NOT c.relhastriggers) THEN
            RAISE EXCEPTION 'staging table pg_temp.% was not made by mailtrail.create_staging_tables()', v_name
                USING ERRCODE = '42501'
                    , HINT = 'Drop it (or reconnect) and let the loader create the staging tables.';
        END IF;
        IF v_created THEN
            EXECUTE format('GRANT INSERT ON TABLE pg_temp.%I TO PUBLIC', v_name);
        END IF;
    END LOOP;
    RETURN v_created;
END
$$;

COMMENT ON FUNCTION mailtrail.create_staging_tables() IS
    'Create this session''s TEMP staging tables (stage_messages, stage_deliveries, stage_rejections, stage_unparsed, stage_counts; ON COMMIT DELETE ROWS) when missing.';
