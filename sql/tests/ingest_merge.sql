-- ingest_merge.sql (test): the batch commit step.
--
-- Contract: runs inside BEGIN ... ROLLBACK, raises an exception when the
--   offset check (MT001), the too_old counting, the partition creation for
--   backfills or the counters are wrong. Uses the session's staging tables.

BEGIN;

DO $$
DECLARE
    v_today   date := (now() AT TIME ZONE 'UTC')::date;
    v_source  bigint;
    v_res     record;
    v_src     record;
    v_n       bigint;
BEGIN
    INSERT INTO mailtrail.ingest_sources (fingerprint, path) VALUES ('test:ingest_merge', '/var/log/mail.log')
    RETURNING source_id INTO v_source;
    PERFORM mailtrail.create_staging_tables();

    -- A backfill 30 days ago (no partition yet), one row today, two rows 200 days ago.
    INSERT INTO pg_temp.stage_messages (received_at, msg_key, host, mta, instance, queue_id, message_id)
    VALUES (((v_today - 30)::timestamp + interval '12 hours') AT TIME ZONE 'UTC', mailtrail.message_key('m1@x'), 'mx1', 'postfix', 'postfix', 'Q1', 'm1@x')
         , (now(), mailtrail.message_key('m2@x'), 'mx1', 'postfix', 'postfix', 'Q2', 'm2@x')
         , (now() - interval '200 days', 7, 'mx2', 'postfix', 'postfix', 'Q3', NULL);
    INSERT INTO pg_temp.stage_deliveries (at, msg_key, host, instance, queue_id, recipient, status)
    VALUES (now() - interval '200 days', 7, 'mx2', 'postfix', 'Q3', 'a@b', 'sent');
    INSERT INTO pg_temp.stage_unparsed (at, host, line_number, byte_offset, reason, raw)
    VALUES (now(), NULL, 3, 120, 'garbage', '\x00ff0a'::bytea);
    INSERT INTO pg_temp.stage_counts (host, lines_read, parsed, ignored, unparsed)
    VALUES ('mx1', 5, 4, 0, 1), ('mx2', 2, 2, 0, 0);

    SELECT * INTO v_res FROM mailtrail.ingest_merge(v_source, 0, 1000, 7, 90);
    IF (v_res.inserted_messages, v_res.inserted_deliveries, v_res.inserted_rejections, v_res.inserted_unparsed, v_res.too_old_rows)
       IS DISTINCT FROM (2::bigint, 0::bigint, 0::bigint, 1::bigint, 2::bigint) THEN
        RAISE EXCEPTION 'ingest_merge returned %, expected (2,0,0,1,2)', v_res;
    END IF;
    IF to_regclass('mailtrail.' || mailtrail.partition_name('messages', v_today - 30)) IS NULL
       OR to_regclass('mailtrail.' || mailtrail.partition_name('unparsed_lines', v_today - 30)) IS NULL THEN
        RAISE EXCEPTION 'the backfill did not create its day partitions';
    END IF;
    IF to_regclass('mailtrail.' || mailtrail.partition_name('messages', v_today - 200)) IS NOT NULL THEN
        RAISE EXCEPTION 'a partition was created for rows outside the retention window';
    END IF;
    SELECT count(*) INTO v_n FROM mailtrail.messages WHERE queue_id = 'Q3';
    IF v_n <> 0 THEN
        RAISE EXCEPTION 'a too-old row was loaded';
    END IF;
    SELECT count(*) INTO v_n FROM mailtrail.unparsed_lines WHERE source_id = v_source AND raw = '\x00ff0a'::bytea;
    IF v_n <> 1 THEN
        RAISE EXCEPTION 'unparsed line not loaded byte for byte with its source_id';
    END IF;

    SELECT * INTO v_src FROM mailtrail.ingest_sources WHERE source_id = v_source;
    IF (v_src.committed_offset, v_src.committed_line, v_src.lines_read, v_src.parsed, v_src.unparsed, v_src.too_old)
       IS DISTINCT FROM (1000::bigint, 7::bigint, 7::bigint, 6::bigint, 1::bigint, 2::bigint) THEN
        RAISE EXCEPTION 'checkpoint/counters wrong: %', v_src;
    END IF;
    SELECT too_old INTO v_n FROM mailtrail.ingest_counts WHERE source_id = v_source AND host = 'mx2';
    IF v_n IS DISTINCT FROM 2::bigint THEN
        RAISE EXCEPTION 'too_old for host mx2 is %, expected 2', v_n;
    END IF;

    -- A second writer that still believes the offset is 0 gets MT001 and changes nothing.
    BEGIN
        PERFORM mailtrail.ingest_merge(v_source, 0, 2000, 9, 90);
        RAISE EXCEPTION 'ingest_merge with a stale offset did not fail';
    EXCEPTION WHEN SQLSTATE 'MT001' THEN
        NULL;
    END;
    SELECT committed_offset INTO v_n FROM mailtrail.ingest_sources WHERE source_id = v_source;
    IF v_n <> 1000 THEN
        RAISE EXCEPTION 'offset moved after MT001: %', v_n;
    END IF;

    -- Unknown source: MT002.
    BEGIN
        PERFORM mailtrail.ingest_merge(-1, 0, 1, 1, 90);
        RAISE EXCEPTION 'ingest_merge on an unknown source did not fail';
    EXCEPTION WHEN SQLSTATE 'MT002' THEN
        NULL;
    END;
END
$$;

ROLLBACK;
