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
-- Limits: LIKE copies columns and NOT NULL only (no CHECK, no index), so a
--   bad status is caught by the INSERT in ingest_merge, not by the COPY.
--   Tables created inside a transaction that rolls back are gone again.

CREATE OR REPLACE FUNCTION mailtrail.create_staging_tables()
    RETURNS boolean
    LANGUAGE plpgsql
AS $$
DECLARE
    v_created boolean := false;
BEGIN
/*
 * Session-local staging for one batch. The fact tables are never COPY
 * targets themselves, which keeps row-level security / SECURITY DEFINER
 * merging possible.
 */
    IF to_regclass('pg_temp.stage_messages') IS NULL THEN
        CREATE TEMPORARY TABLE stage_messages (LIKE mailtrail.messages) ON COMMIT DELETE ROWS;
        v_created := true;
    END IF;
    IF to_regclass('pg_temp.stage_deliveries') IS NULL THEN
        CREATE TEMPORARY TABLE stage_deliveries (LIKE mailtrail.deliveries) ON COMMIT DELETE ROWS;
        v_created := true;
    END IF;
    IF to_regclass('pg_temp.stage_rejections') IS NULL THEN
        CREATE TEMPORARY TABLE stage_rejections (LIKE mailtrail.rejections) ON COMMIT DELETE ROWS;
        v_created := true;
    END IF;
    IF to_regclass('pg_temp.stage_unparsed') IS NULL THEN
        CREATE TEMPORARY TABLE stage_unparsed (
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
        CREATE TEMPORARY TABLE stage_counts (
              host        text   NOT NULL
            , lines_read  bigint NOT NULL DEFAULT 0
            , parsed      bigint NOT NULL DEFAULT 0
            , ignored     bigint NOT NULL DEFAULT 0
            , unparsed    bigint NOT NULL DEFAULT 0
        ) ON COMMIT DELETE ROWS;
        v_created := true;
    END IF;
    RETURN v_created;
END
$$;

COMMENT ON FUNCTION mailtrail.create_staging_tables() IS
    'Create this session''s TEMP staging tables (stage_messages, stage_deliveries, stage_rejections, stage_unparsed, stage_counts; ON COMMIT DELETE ROWS) when missing.';
