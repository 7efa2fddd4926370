-- partitions.sql (test): ensure_day_partitions, drop_expired_partitions, run_maintenance.
--
-- Contract: runs inside BEGIN ... ROLLBACK (DDL included), raises an
--   exception when a partition is missing, left over, or rows were deleted.
--   Works on a freshly migrated database; days are relative to today (UTC).

BEGIN;

DO $$
DECLARE
    v_today    date := (now() AT TIME ZONE 'UTC')::date;
    v_n        bigint;
    v_name     text;
BEGIN
    -- Naming.
    IF mailtrail.partition_name('messages', date '2024-03-01') <> 'messages_p20240301' THEN
        RAISE EXCEPTION 'partition_name: got %', mailtrail.partition_name('messages', date '2024-03-01');
    END IF;

    -- Create today-100 .. today: 101 days x 4 tables, idempotent.
    SELECT count(*) INTO v_n FROM mailtrail.ensure_day_partitions(v_today - 100, v_today);
    IF v_n > 404 THEN
        RAISE EXCEPTION 'ensure_day_partitions created % partitions, expected at most 404', v_n;
    END IF;
    SELECT count(*) INTO v_n FROM mailtrail.ensure_day_partitions(v_today - 100, v_today);
    IF v_n <> 0 THEN
        RAISE EXCEPTION 'ensure_day_partitions is not idempotent: second call created %', v_n;
    END IF;
    FOREACH v_name IN ARRAY ARRAY['messages', 'deliveries', 'rejections', 'unparsed_lines'] LOOP
        IF to_regclass('mailtrail.' || mailtrail.partition_name(v_name, v_today - 100)) IS NULL THEN
            RAISE EXCEPTION 'missing partition % for today-100', v_name;
        END IF;
    END LOOP;

    -- Bounds are whole UTC days.
    INSERT INTO mailtrail.messages (received_at, msg_key, host, mta, instance, queue_id)
    VALUES (((v_today - 50)::timestamp + interval '23:59:59.999999') AT TIME ZONE 'UTC', 1, 'h', 'postfix', 'postfix', 'KEEP')
         , ((v_today - 100)::timestamp AT TIME ZONE 'UTC', 2, 'h', 'postfix', 'postfix', 'GONE');
    SELECT count(*) INTO v_n FROM mailtrail.messages WHERE tableoid = to_regclass('mailtrail.' || mailtrail.partition_name('messages', v_today - 50));
    IF v_n <> 1 THEN
        RAISE EXCEPTION 'row at 23:59:59.999999 UTC is not in its day partition';
    END IF;

    -- Retention 90: days before today-90 go, today-90 stays.
    SELECT count(*) INTO v_n FROM mailtrail.drop_expired_partitions(90);
    IF v_n <> 40 THEN
        RAISE EXCEPTION 'drop_expired_partitions(90) dropped %, expected 40 (10 days x 4 tables)', v_n;
    END IF;
    IF to_regclass('mailtrail.' || mailtrail.partition_name('messages', v_today - 91)) IS NOT NULL THEN
        RAISE EXCEPTION 'partition for today-91 survived';
    END IF;
    IF to_regclass('mailtrail.' || mailtrail.partition_name('messages', v_today - 90)) IS NULL THEN
        RAISE EXCEPTION 'partition for today-90 was dropped';
    END IF;
    SELECT count(*) INTO v_n FROM mailtrail.messages WHERE queue_id IN ('KEEP', 'GONE');
    IF v_n <> 1 THEN
        RAISE EXCEPTION 'expected 1 message left after the drop, found %', v_n;
    END IF;
    SELECT count(*) INTO v_n FROM mailtrail.drop_expired_partitions(0);
    IF v_n <> 0 THEN
        RAISE EXCEPTION 'retention 0 must keep everything, dropped %', v_n;
    END IF;

    -- run_maintenance: premake today..today+3, then nothing is left to do.
    PERFORM mailtrail.run_maintenance(90, 3);
    FOR v_n IN 0 .. 3 LOOP
        FOREACH v_name IN ARRAY ARRAY['messages', 'deliveries', 'rejections', 'unparsed_lines'] LOOP
            IF to_regclass('mailtrail.' || mailtrail.partition_name(v_name, v_today + v_n::int)) IS NULL THEN
                RAISE EXCEPTION 'premade partition % for today+% is missing', v_name, v_n;
            END IF;
        END LOOP;
    END LOOP;
    SELECT count(*) INTO v_n FROM mailtrail.run_maintenance(90, 3) WHERE action <> 'ok';
    IF v_n <> 0 THEN
        RAISE EXCEPTION 'second run_maintenance(90, 3) still did % things', v_n;
    END IF;

    -- Never DELETE: no tuple was deleted in this transaction.
    SELECT coalesce(sum(n_tup_del), 0) INTO v_n FROM pg_stat_xact_user_tables WHERE schemaname = 'mailtrail';
    IF v_n <> 0 THEN
        RAISE EXCEPTION 'maintenance deleted % rows; it must only drop partitions', v_n;
    END IF;
END
$$;

ROLLBACK;
