-- ingest_batch.sql (test): the steps of one batch — ingest_batch_begin(),
-- rows written straight into the day partitions, ingest_checkpoint().
--
-- Contract: runs inside BEGIN ... ROLLBACK as an unrestricted loader and
--   raises an exception when the retention window, the partition creation
--   for backfills (with their ingest_check_rows trigger and the ingest
--   role's INSERT-only grant), the offset checks (MT001, MT002) or the
--   counters are wrong. The restricted-agent side is tested with real
--   login roles in Tests/IntegrationTests/SecurityTests.swift.

BEGIN;

DO $$
DECLARE
    v_today   date := (now() AT TIME ZONE 'UTC')::date;
    v_source  bigint;
    v_first   date;
    v_src     record;
    v_n       bigint;
    v_part    text;
    v_ingest  text := (SELECT s.value || '_ingest' FROM mailtrail.settings s WHERE s.key = 'roles_prefix');
BEGIN
    INSERT INTO mailtrail.ingest_sources (fingerprint, path) VALUES ('test:ingest_batch', '/var/log/mail.log')
    RETURNING source_id INTO v_source;

    -- A backfill 30 days ago (no partition yet), today, and a day 200 days ago (outside 90 days).
    v_first := mailtrail.ingest_batch_begin(v_source, 0, ARRAY[v_today - 30, v_today, v_today - 200, NULL, v_today], 90);
    IF v_first IS DISTINCT FROM v_today - 90 THEN
        RAISE EXCEPTION 'ingest_batch_begin returned %, expected the first day of the window %', v_first, v_today - 90;
    END IF;
    FOREACH v_part IN ARRAY ARRAY[mailtrail.partition_name('messages', v_today - 30), mailtrail.partition_name('deliveries', v_today - 30),
                                  mailtrail.partition_name('rejections', v_today - 30), mailtrail.partition_name('unparsed_lines', v_today - 30),
                                  mailtrail.partition_name('messages', v_today)] LOOP
        IF to_regclass('mailtrail.' || v_part) IS NULL THEN
            RAISE EXCEPTION 'ingest_batch_begin did not create %', v_part;
        END IF;
        -- Open to the ingest role: the check trigger, and INSERT as its only privilege.
        IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = ('mailtrail.' || v_part)::regclass
                          AND t.tgname = 'ingest_check_rows' AND t.tgfoid = 'mailtrail.ingest_check_rows()'::regprocedure) THEN
            RAISE EXCEPTION '% has no ingest_check_rows trigger', v_part;
        END IF;
        IF NOT has_table_privilege(v_ingest, 'mailtrail.' || v_part, 'INSERT')
           OR has_table_privilege(v_ingest, 'mailtrail.' || v_part, 'SELECT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') THEN
            RAISE EXCEPTION '% should grant INSERT and nothing else to %', v_part, v_ingest;
        END IF;
    END LOOP;
    IF to_regclass('mailtrail.' || mailtrail.partition_name('messages', v_today - 200)) IS NOT NULL THEN
        RAISE EXCEPTION 'a partition was created for a day outside the retention window';
    END IF;
    IF has_table_privilege(v_ingest, 'mailtrail.messages', 'INSERT') THEN
        RAISE EXCEPTION 'the ingest role may insert into the parent mailtrail.messages';
    END IF;

    -- The loader writes straight into the partitions (COPY in real life; the trigger fires alike).
    EXECUTE format('INSERT INTO mailtrail.%I (received_at, msg_key, host, mta, instance, queue_id, message_id) VALUES ($1, $2, $3, $4, $5, $6, $7)'
                 , mailtrail.partition_name('messages', v_today - 30))
      USING ((v_today - 30)::timestamp + interval '12 hours') AT TIME ZONE 'UTC', mailtrail.message_key('m1@x'), 'mx1', 'postfix', 'postfix', 'Q1', 'm1@x';
    EXECUTE format('INSERT INTO mailtrail.%I (at, source_id, host, line_number, byte_offset, reason, raw) VALUES ($1, $2, NULL, 3, 120, $3, $4)'
                 , mailtrail.partition_name('unparsed_lines', v_today))
      USING now(), v_source, 'garbage', '\x00ff0a'::bytea;

    -- Checkpoint with counters; mx2 had 2 rows too old for the window, '' one, and mx1 is listed twice.
    PERFORM mailtrail.ingest_checkpoint(v_source, 0, 1000, 7
        , ARRAY['mx1', 'mx2', '', 'mx1'], ARRAY[3, 2, 1, 1]::bigint[], ARRAY[3, 2, 0, 1]::bigint[]
        , ARRAY[0, 0, 0, 0]::bigint[], ARRAY[0, 0, 1, 0]::bigint[], ARRAY[0, 2, 1, 0]::bigint[]);
    SELECT * INTO v_src FROM mailtrail.ingest_sources WHERE source_id = v_source;
    IF (v_src.committed_offset, v_src.committed_line, v_src.lines_read, v_src.parsed, v_src.unparsed, v_src.too_old)
       IS DISTINCT FROM (1000::bigint, 7::bigint, 7::bigint, 6::bigint, 1::bigint, 3::bigint) THEN
        RAISE EXCEPTION 'checkpoint/counters wrong: %', v_src;
    END IF;
    SELECT lines_read INTO v_n FROM mailtrail.ingest_counts WHERE source_id = v_source AND host = 'mx1';
    IF v_n IS DISTINCT FROM 4::bigint THEN
        RAISE EXCEPTION 'lines_read for host mx1 is %, expected 4 (listed twice)', v_n;
    END IF;
    SELECT too_old INTO v_n FROM mailtrail.ingest_counts WHERE source_id = v_source AND host = 'mx2';
    IF v_n IS DISTINCT FROM 2::bigint THEN
        RAISE EXCEPTION 'too_old for host mx2 is %, expected 2', v_n;
    END IF;
    SELECT count(*) INTO v_n FROM mailtrail.unparsed_lines WHERE source_id = v_source AND raw = '\x00ff0a'::bytea;
    IF v_n <> 1 THEN
        RAISE EXCEPTION 'unparsed line not stored byte for byte with its source_id';
    END IF;

    -- Retention 0 keeps everything: the old day gets its partitions.
    v_first := mailtrail.ingest_batch_begin(v_source, 1000, ARRAY[v_today - 200], 0);
    IF v_first IS NOT NULL OR to_regclass('mailtrail.' || mailtrail.partition_name('rejections', v_today - 200)) IS NULL THEN
        RAISE EXCEPTION 'retention 0: window % (expected NULL), partition of day -200 missing', v_first;
    END IF;

    -- A second writer that still believes the offset is 0 gets MT001, at both steps, and changes nothing.
    BEGIN
        PERFORM mailtrail.ingest_batch_begin(v_source, 0, '{}', 90);
        RAISE EXCEPTION 'ingest_batch_begin with a stale offset did not fail';
    EXCEPTION WHEN SQLSTATE 'MT001' THEN
        NULL;
    END;
    BEGIN
        PERFORM mailtrail.ingest_checkpoint(v_source, 0, 2000, 9);
        RAISE EXCEPTION 'ingest_checkpoint with a stale offset did not fail';
    EXCEPTION WHEN SQLSTATE 'MT001' THEN
        NULL;
    END;
    SELECT committed_offset INTO v_n FROM mailtrail.ingest_sources WHERE source_id = v_source;
    IF v_n <> 1000 THEN
        RAISE EXCEPTION 'offset moved after MT001: %', v_n;
    END IF;

    -- Counter arrays of different lengths are refused.
    BEGIN
        PERFORM mailtrail.ingest_checkpoint(v_source, 1000, 2000, 9, ARRAY['mx1'], ARRAY[1, 2]::bigint[]);
        RAISE EXCEPTION 'ingest_checkpoint accepted counter arrays of different lengths';
    EXCEPTION WHEN SQLSTATE '22023' THEN
        NULL;
    END;

    -- Unknown source: MT002.
    BEGIN
        PERFORM mailtrail.ingest_batch_begin(-1, 0, '{}', 90);
        RAISE EXCEPTION 'ingest_batch_begin on an unknown source did not fail';
    EXCEPTION WHEN SQLSTATE 'MT002' THEN
        NULL;
    END;
    BEGIN
        PERFORM mailtrail.ingest_checkpoint(-1, 0, 1, 1);
        RAISE EXCEPTION 'ingest_checkpoint on an unknown source did not fail';
    EXCEPTION WHEN SQLSTATE 'MT002' THEN
        NULL;
    END;

    -- Only managed day partitions can be opened to ingest.
    BEGIN
        PERFORM mailtrail.ingest_partition_access('mailtrail.settings'::regclass);
        RAISE EXCEPTION 'ingest_partition_access accepted mailtrail.settings';
    EXCEPTION WHEN SQLSTATE '42501' THEN
        NULL;
    END;
END
$$;

ROLLBACK;
