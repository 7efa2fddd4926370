-- ensure_day_partitions.sql: mailtrail.ensure_day_partitions(p_from, p_to).
--
-- Contract: after it returns, every fact table (messages, deliveries,
--   rejections, unparsed_lines) has a partition <table>_pYYYYMMDD for each
--   UTC day in [p_from, p_to] (both included), covering
--   [day 00:00 UTC, next day 00:00 UTC). Idempotent: existing partitions are
--   left alone; returns one row per partition it created.
--   Serialised by a transaction advisory lock ('mailtrail create
--   partitions'), held until the caller's transaction ends, so concurrent
--   ingests never race to create the same partition.
-- Limits: CREATE TABLE ... PARTITION OF takes an ACCESS EXCLUSIVE lock on
--   the parent until commit; premaking (run_maintenance) keeps this off the
--   ingest path. A table of the same name that is not a partition makes it
--   fail (never silently attached).
-- Security: SECURITY DEFINER owned by the owner role (search_path pinned to
--   pg_catalog, pg_temp; identifiers in dynamic SQL via format(%I)), so the
--   maintenance role needs only EXECUTE, and partitions it creates belong to
--   the owner. Each new partition is opened to the ingest role by
--   ingest_partition_access(): the ingest_check_rows trigger, then INSERT
--   (its only grant; every other access goes through the parent).

CREATE OR REPLACE FUNCTION mailtrail.ensure_day_partitions(p_from date, p_to date)
    RETURNS TABLE (parent_table text, partition_table text, day date)
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tables  text[] := ARRAY['messages', 'deliveries', 'rejections', 'unparsed_lines'];
    v_table   text;
    v_day     date;
    v_name    text;
BEGIN
/*
 * Create the missing day partitions of all fact tables for p_from .. p_to.
 * Bounds are written as UTC literals, so the session's TimeZone does not matter.
 */
    IF p_from IS NULL OR p_to IS NULL THEN
        RAISE EXCEPTION 'ensure_day_partitions: p_from and p_to must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF p_to < p_from THEN
        RAISE EXCEPTION 'ensure_day_partitions: p_to (%) is before p_from (%)', p_to, p_from
            USING ERRCODE = '22023', HINT = 'Both bounds are included; pass the earlier day first.';
    END IF;

    PERFORM pg_advisory_xact_lock(hashtext('mailtrail create partitions'));

    v_day := p_from;
    WHILE v_day <= p_to LOOP
        FOREACH v_table IN ARRAY v_tables LOOP
            v_name := mailtrail.partition_name(v_table, v_day);
            IF to_regclass(format('mailtrail.%I', v_name)) IS NULL THEN
                RAISE DEBUG 'ensure_day_partitions: creating mailtrail.%', v_name;
                EXECUTE format(
                    'CREATE TABLE mailtrail.%I PARTITION OF mailtrail.%I FOR VALUES FROM (%L) TO (%L)'
                    , v_name
                    , v_table
                    , to_char(v_day, 'YYYY-MM-DD') || ' 00:00:00+00'
                    , to_char(v_day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
                EXECUTE format('COMMENT ON TABLE mailtrail.%I IS %L'
                    , v_name
                    , format('Day partition of mailtrail.%s for %s (UTC).', v_table, to_char(v_day, 'YYYY-MM-DD')));
                -- the ingest role COPYs straight into day partitions (INSERT only, checked by a trigger)
                PERFORM mailtrail.ingest_partition_access(format('mailtrail.%I', v_name)::regclass);
                parent_table    := v_table;
                partition_table := v_name;
                day             := v_day;
                RETURN NEXT;
            END IF;
        END LOOP;
        v_day := v_day + 1;
    END LOOP;
END
$$;

COMMENT ON FUNCTION mailtrail.ensure_day_partitions(date, date) IS
    'Create the missing <table>_pYYYYMMDD day partitions of all fact tables for p_from..p_to (inclusive, UTC days); returns what it created.';
