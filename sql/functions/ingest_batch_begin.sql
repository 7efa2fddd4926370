-- ingest_batch_begin.sql: mailtrail.ingest_batch_begin(...), the first step of one batch.
--
-- Contract (docs/architecture.md "Exactly-once ingest"): called first inside
--   the transaction of a batch (source lines [p_expected_offset, ...)),
--   before the loader COPYs its rows straight into the day partitions. It
--   1. locks the source row (FOR UPDATE, held until the batch's COMMIT, so a
--      second writer of the source waits here instead of after its COPY) and
--      raises SQLSTATE 'MT001' when its committed_offset is not
--      p_expected_offset (another writer committed first; nothing is
--      written), 'MT002' for an unknown source (or another agent's);
--   2. takes the 'mailtrail retention' advisory lock shared (until COMMIT),
--      so drop_expired_partitions() cannot drop a day this batch loads;
--   3. creates the missing day partitions for the days in p_days inside the
--      retention window (today UTC - retention days; p_retention_days NULL
--      = the retention_days setting, <= 0 = keep everything);
--   4. returns the first day of the window (NULL = no limit): the loader
--      sends no row dated before it and counts those as too_old
--      (ingest_checkpoint() stores the counts).
--   Then the loader COPYs, calls ingest_checkpoint() and COMMITs.
-- Security: SECURITY DEFINER, owned by the owner role, search_path =
--   pg_catalog, pg_temp, schema-qualified names, no dynamic SQL. For a
--   restricted ingest agent (ingest_agent() <> ''): only its own sources
--   (else MT002), and p_retention_days is ignored (the setting applies;
--   the partitions' trigger refuses older rows anyway).
-- Limits: creating a partition takes an ACCESS EXCLUSIVE lock on its parent
--   until COMMIT, i.e. for the whole batch (run_maintenance premakes the
--   coming days to keep this off the ingest path). Rows dated in the future
--   create their (future) partitions.

CREATE OR REPLACE FUNCTION mailtrail.ingest_batch_begin(
      p_source_id        bigint
    , p_expected_offset  bigint
    , p_days             date[]
    , p_retention_days   int DEFAULT NULL)
    RETURNS date
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_agent      text := mailtrail.ingest_agent();
    v_retention  int;
    v_first_day  date;
    v_day        date;
BEGIN
    IF p_source_id IS NULL OR p_expected_offset IS NULL THEN
        RAISE EXCEPTION 'ingest_batch_begin: source id and offset must not be NULL'
            USING ERRCODE = '22004';
    END IF;

    -- 1. The checkpoint: one writer per source.
    PERFORM mailtrail.ingest_lock_source('ingest_batch_begin', p_source_id, p_expected_offset, v_agent);

    -- 2. The retention window; maintenance cannot drop partitions while we load.
    IF v_agent <> '' THEN
        p_retention_days := NULL;
    END IF;
    v_retention := coalesce(p_retention_days
        , (SELECT st.value::int FROM mailtrail.settings st WHERE st.key = 'retention_days'), 90);
    IF v_retention > 0 THEN
        v_first_day := (now() AT TIME ZONE 'UTC')::date - v_retention;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtext('mailtrail retention'));

    -- 3. Partitions for the batch's days inside the window.
    FOR v_day IN
        SELECT DISTINCT d FROM unnest(p_days) AS u(d)
         WHERE d IS NOT NULL AND (v_first_day IS NULL OR d >= v_first_day)
         ORDER BY d
    LOOP
        IF to_regclass(format('mailtrail.%I', mailtrail.partition_name('messages', v_day))) IS NULL
           OR to_regclass(format('mailtrail.%I', mailtrail.partition_name('deliveries', v_day))) IS NULL
           OR to_regclass(format('mailtrail.%I', mailtrail.partition_name('rejections', v_day))) IS NULL
           OR to_regclass(format('mailtrail.%I', mailtrail.partition_name('unparsed_lines', v_day))) IS NULL
        THEN
            PERFORM mailtrail.ensure_day_partitions(v_day, v_day);
        END IF;
    END LOOP;

    RETURN v_first_day;
END
$$;

COMMENT ON FUNCTION mailtrail.ingest_batch_begin(bigint, bigint, date[], int) IS
    'First step of an ingest batch: locks the source and checks its checkpoint (MT001/MT002), creates the day partitions of p_days inside the retention window; returns the window''s first day (NULL = no limit).';
