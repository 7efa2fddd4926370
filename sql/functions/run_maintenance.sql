-- run_maintenance.sql: mailtrail.run_maintenance(p_retention_days, p_premake_days).
--
-- Contract: one maintenance pass, safe to call from psql, cron or pg_cron:
--   1. drop_expired_partitions(retention)        -> rows action = 'dropped'
--   2. ensure_day_partitions(today, today+premake) -> rows action = 'created'
--   NULL arguments fall back to mailtrail.settings (retention_days,
--   premake_days). Returns the report; an empty drop/create shows as a
--   single 'ok' row. On a hot standby (pg_is_in_recovery()) it does nothing
--   and returns one 'skipped' row; the same when another run_maintenance
--   holds the lock (pg_try_advisory_xact_lock, as pg_partman does).
-- Limits: "today" is the server clock's UTC date. Everything happens in the
--   caller's transaction.
-- Security: SECURITY DEFINER owned by the owner role (search_path pinned to
--   pg_catalog, pg_temp; identifiers in dynamic SQL via format(%I)), so the
--   maintenance role needs only EXECUTE, and partitions it creates (through
--   ensure_day_partitions) belong to the owner; their only grant is the
--   ingest role's INSERT behind the ingest_check_rows trigger.

CREATE OR REPLACE FUNCTION mailtrail.run_maintenance(
      p_retention_days int DEFAULT NULL
    , p_premake_days   int DEFAULT NULL)
    RETURNS TABLE (action text, parent_table text, partition_table text, day date, detail text)
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_retention  int;
    v_premake    int;
    v_today      date := (now() AT TIME ZONE 'UTC')::date;
    v_count      int  := 0;
    v_rec        record;
BEGIN
/*
 * Retention and premaking of the day partitions. Never DELETEs rows.
 */
    IF pg_catalog.pg_is_in_recovery() THEN
        action := 'skipped'; detail := 'server is a replica (in recovery); nothing to do';
        RETURN NEXT;
        RETURN;
    END IF;
    IF NOT pg_catalog.pg_try_advisory_xact_lock(hashtext('mailtrail run_maintenance')) THEN
        action := 'skipped'; detail := 'another run_maintenance() is running';
        RETURN NEXT;
        RETURN;
    END IF;

    v_retention := coalesce(p_retention_days
        , (SELECT s.value::int FROM mailtrail.settings s WHERE s.key = 'retention_days'), 90);
    v_premake := coalesce(p_premake_days
        , (SELECT s.value::int FROM mailtrail.settings s WHERE s.key = 'premake_days'), 7);
    IF v_premake < 0 THEN
        RAISE EXCEPTION 'run_maintenance: premake days must be >= 0, got %', v_premake
            USING ERRCODE = '22023';
    END IF;

    FOR v_rec IN SELECT * FROM mailtrail.drop_expired_partitions(v_retention) LOOP
        action := 'dropped'; parent_table := v_rec.parent_table;
        partition_table := v_rec.partition_table; day := v_rec.day;
        detail := format('older than %s days', v_retention);
        v_count := v_count + 1;
        RETURN NEXT;
    END LOOP;

    FOR v_rec IN SELECT * FROM mailtrail.ensure_day_partitions(v_today, v_today + v_premake) LOOP
        action := 'created'; parent_table := v_rec.parent_table;
        partition_table := v_rec.partition_table; day := v_rec.day;
        detail := format('premake %s days', v_premake);
        v_count := v_count + 1;
        RETURN NEXT;
    END LOOP;

    IF v_count = 0 THEN
        action := 'ok'; parent_table := NULL; partition_table := NULL; day := NULL;
        detail := format('retention %s days, premake %s days: nothing to drop or create'
            , v_retention, v_premake);
        RETURN NEXT;
    END IF;
END
$$;

COMMENT ON FUNCTION mailtrail.run_maintenance(int, int) IS
    'Drop expired day partitions and premake today..today+premake; NULL args read mailtrail.settings. No-op on a replica. E.g. SELECT * FROM mailtrail.run_maintenance();';
