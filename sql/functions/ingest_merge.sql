-- ingest_merge.sql: mailtrail.ingest_merge(...), the commit step of one batch.
--
-- Contract (docs/architecture.md "Exactly-once ingest"): called once per
--   transaction, after the caller filled this session's staging tables
--   (see create_staging_tables()) with the rows of source lines
--   [p_expected_offset, p_new_offset). It
--   1. locks the source row (FOR UPDATE) and raises SQLSTATE 'MT001' when
--      its committed_offset is not p_expected_offset (another writer
--      committed first; nothing is written), 'MT002' for an unknown source;
--   2. creates the missing day partitions for the staged days inside the
--      retention window (today UTC - retention days; NULL = the
--      retention_days setting, <= 0 = keep everything);
--   3. inserts the staged rows inside the window with set-based
--      INSERT ... SELECT (explicit column lists); older rows are not loaded
--      but counted as too_old;
--   4. moves the checkpoint to (p_new_offset, p_new_line) and adds the
--      stage_counts counters and too_old to ingest_sources and ingest_counts
--      (per host; '' for rows without a host);
--   5. returns the rows inserted per table and the too_old count.
--   Nothing is committed here: the caller's COMMIT makes it all visible at
--   once, together with the correlator state.
-- Security (docs/security.md): SECURITY DEFINER, owned by the owner role,
--   with search_path = pg_catalog, pg_temp (pg_temp last, so no caller
--   object shadows a catalog name); staging tables are read as pg_temp.x and
--   must be the owner's own (create_staging_tables() checks), everything
--   else is schema-qualified, no dynamic SQL with caller input. For a
--   restricted ingest agent (ingest_agent() <> ''): the source must be its
--   own (else MT002), every staged host must be one of its hosts
--   (agent_hosts; else SQLSTATE 42501 and nothing is written; unparsed
--   lines without a host and counters for host '' are allowed), and
--   p_retention_days is ignored (the setting applies).
-- Limits: the staged rows are not cleared (ON COMMIT DELETE ROWS does that),
--   so call it once per transaction. Rows dated in the future create their
--   (future) partitions.

CREATE OR REPLACE FUNCTION mailtrail.ingest_merge(
      p_source_id        bigint
    , p_expected_offset  bigint
    , p_new_offset       bigint
    , p_new_line         bigint
    , p_retention_days   int DEFAULT NULL)
    RETURNS TABLE (
          inserted_messages    bigint
        , inserted_deliveries  bigint
        , inserted_rejections  bigint
        , inserted_unparsed    bigint
        , too_old_rows         bigint)
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_agent         text := mailtrail.ingest_agent();
    v_bad_host      text;
    v_committed     bigint;
    v_retention     int;
    v_window_start  timestamptz := '-infinity';
    v_days          date[];
    v_day           date;
    v_messages      bigint := 0;
    v_deliveries    bigint := 0;
    v_rejections    bigint := 0;
    v_unparsed      bigint := 0;
    v_too_old       bigint := 0;
BEGIN
/*
 * The one commit step of a batch: check the checkpoint, load the staged
 * rows inside the retention window, move the checkpoint, add the counters.
 */
    IF p_source_id IS NULL OR p_expected_offset IS NULL OR p_new_offset IS NULL OR p_new_line IS NULL THEN
        RAISE EXCEPTION 'ingest_merge: source id, offsets and line number must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF p_new_offset < p_expected_offset OR p_new_line < 0 THEN
        RAISE EXCEPTION 'ingest_merge: new offset % is before the expected offset % (or line % < 0)'
            , p_new_offset, p_expected_offset, p_new_line
            USING ERRCODE = '22023';
    END IF;

    -- 1. The checkpoint: one writer per source.
    SELECT s.committed_offset INTO v_committed
      FROM mailtrail.ingest_sources s
     WHERE s.source_id = p_source_id
       AND (v_agent = '' OR s.agent = v_agent)
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ingest_merge: unknown source_id %', p_source_id
            USING ERRCODE = 'MT002', HINT = 'Register the source in mailtrail.ingest_sources first.';
    END IF;
    IF v_committed <> p_expected_offset THEN
        RAISE EXCEPTION 'ingest_merge: source % is committed up to offset %, this batch starts at %: another ingest wrote this source concurrently'
            , p_source_id, v_committed, p_expected_offset
            USING ERRCODE = 'MT001'
                , HINT = 'Run the ingest again; it resumes from the committed offset.';
    END IF;

    PERFORM mailtrail.create_staging_tables();

    -- A restricted agent writes only its own hosts; the database checks it.
    IF v_agent <> '' THEN
        p_retention_days := NULL;
        SELECT h.host INTO v_bad_host
          FROM (      SELECT sm.host COLLATE "C" AS host FROM pg_temp.stage_messages sm
            UNION ALL SELECT sd.host COLLATE "C" FROM pg_temp.stage_deliveries sd
            UNION ALL SELECT sr.host COLLATE "C" FROM pg_temp.stage_rejections sr
            UNION ALL SELECT su.host COLLATE "C" FROM pg_temp.stage_unparsed su WHERE su.host IS NOT NULL
            UNION ALL SELECT sc.host COLLATE "C" FROM pg_temp.stage_counts sc WHERE sc.host <> ''
               ) h
         WHERE NOT mailtrail.agent_host_allowed(v_agent, h.host)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'role % may not write rows for host %', quote_ident(v_agent), quote_literal(v_bad_host)
                USING ERRCODE = '42501'
                    , HINT = 'An administrator assigns hosts with: mailtrail db grant-agent --role ROLE --hosts HOST...';
        END IF;
    END IF;

    -- 2. The retention window; maintenance cannot drop partitions while we load.
    v_retention := coalesce(p_retention_days
        , (SELECT st.value::int FROM mailtrail.settings st WHERE st.key = 'retention_days'), 90);
    IF v_retention > 0 THEN
        v_window_start := (((now() AT TIME ZONE 'UTC')::date - v_retention)::timestamp) AT TIME ZONE 'UTC';
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtext('mailtrail retention'));

    SELECT array_agg(DISTINCT d.day ORDER BY d.day) INTO v_days
      FROM (      SELECT (sm.received_at AT TIME ZONE 'UTC')::date AS day FROM pg_temp.stage_messages sm WHERE sm.received_at >= v_window_start
        UNION ALL SELECT (sd.at AT TIME ZONE 'UTC')::date FROM pg_temp.stage_deliveries sd WHERE sd.at >= v_window_start
        UNION ALL SELECT (sr.at AT TIME ZONE 'UTC')::date FROM pg_temp.stage_rejections sr WHERE sr.at >= v_window_start
        UNION ALL SELECT (su.at AT TIME ZONE 'UTC')::date FROM pg_temp.stage_unparsed su WHERE su.at >= v_window_start
           ) d;
    IF v_days IS NOT NULL THEN
        FOREACH v_day IN ARRAY v_days LOOP
            IF to_regclass(format('mailtrail.%I', mailtrail.partition_name('messages', v_day))) IS NULL
               OR to_regclass(format('mailtrail.%I', mailtrail.partition_name('deliveries', v_day))) IS NULL
               OR to_regclass(format('mailtrail.%I', mailtrail.partition_name('rejections', v_day))) IS NULL
               OR to_regclass(format('mailtrail.%I', mailtrail.partition_name('unparsed_lines', v_day))) IS NULL
            THEN
                PERFORM mailtrail.ensure_day_partitions(v_day, v_day);
            END IF;
        END LOOP;
    END IF;

    -- 3. Set-based loads, explicit column lists.
    INSERT INTO mailtrail.messages (
          received_at, msg_key, host, mta, instance, queue_id, message_id, sender
        , client_name, client_ip, client_port, size, nrcpt, proto, helo
        , tls_proto, tls_cipher, tls_bits, tls_trust, sasl_method, sasl_username
        , origin_queue_id, origin_kind
        , subject, local_user, dkim_result, dkim_domain, spam_verdict, spam_score)
    SELECT received_at, msg_key, host, mta, instance, queue_id, message_id, sender
        , client_name, client_ip, client_port, size, nrcpt, proto, helo
        , tls_proto, tls_cipher, tls_bits, tls_trust, sasl_method, sasl_username
        , origin_queue_id, origin_kind
        , subject, local_user, dkim_result, dkim_domain, spam_verdict, spam_score
      FROM pg_temp.stage_messages
     WHERE received_at >= v_window_start;
    GET DIAGNOSTICS v_messages = ROW_COUNT;

    INSERT INTO mailtrail.deliveries (
          at, msg_key, host, instance, queue_id, received_at, recipient, orig_recipient
        , status, dsn, transport, relay_name, relay_ip, relay_port
        , delay, delay_before_qmgr, delay_in_qmgr, delay_conn, delay_xmit
        , conn_use, tls_feature, tls_proto, tls_cipher, tls_bits, response, next_queue_id
        , router, tls_trust)
    SELECT at, msg_key, host, instance, queue_id, received_at, recipient, orig_recipient
        , status, dsn, transport, relay_name, relay_ip, relay_port
        , delay, delay_before_qmgr, delay_in_qmgr, delay_conn, delay_xmit
        , conn_use, tls_feature, tls_proto, tls_cipher, tls_bits, response, next_queue_id
        , router, tls_trust
      FROM pg_temp.stage_deliveries
     WHERE at >= v_window_start;
    GET DIAGNOSTICS v_deliveries = ROW_COUNT;

    INSERT INTO mailtrail.rejections (
          at, msg_key, host, instance, queue_id, program, action, stage
        , client_name, client_ip, client_port, helo, sender, recipient, proto
        , code, dsn, reason)
    SELECT at, msg_key, host, instance, queue_id, program, action, stage
        , client_name, client_ip, client_port, helo, sender, recipient, proto
        , code, dsn, reason
      FROM pg_temp.stage_rejections
     WHERE at >= v_window_start;
    GET DIAGNOSTICS v_rejections = ROW_COUNT;

    INSERT INTO mailtrail.unparsed_lines (at, source_id, host, line_number, byte_offset, reason, raw)
    SELECT at, p_source_id, host, line_number, byte_offset, reason, raw
      FROM pg_temp.stage_unparsed
     WHERE at >= v_window_start;
    GET DIAGNOSTICS v_unparsed = ROW_COUNT;

    -- 4. Counters (per host, too_old included) and the checkpoint.
    IF v_retention > 0 THEN
        SELECT (SELECT count(*) FROM pg_temp.stage_messages sm WHERE sm.received_at < v_window_start)
             + (SELECT count(*) FROM pg_temp.stage_deliveries sd WHERE sd.at < v_window_start)
             + (SELECT count(*) FROM pg_temp.stage_rejections sr WHERE sr.at < v_window_start)
             + (SELECT count(*) FROM pg_temp.stage_unparsed su WHERE su.at < v_window_start)
          INTO v_too_old;
    END IF;

    INSERT INTO mailtrail.ingest_counts AS ic (source_id, host, lines_read, parsed, ignored, unparsed, too_old)
    SELECT p_source_id, c.host, sum(c.lines_read), sum(c.parsed), sum(c.ignored), sum(c.unparsed), sum(c.too_old)
      FROM (      SELECT sc.host COLLATE "C" AS host, sc.lines_read, sc.parsed, sc.ignored, sc.unparsed, 0::bigint AS too_old
                    FROM pg_temp.stage_counts sc
        UNION ALL SELECT coalesce(t.host, '') COLLATE "C", 0, 0, 0, 0, 1
                    FROM (      SELECT sm.host COLLATE "C" AS host FROM pg_temp.stage_messages sm WHERE sm.received_at < v_window_start
                      UNION ALL SELECT sd.host COLLATE "C" FROM pg_temp.stage_deliveries sd WHERE sd.at < v_window_start
                      UNION ALL SELECT sr.host COLLATE "C" FROM pg_temp.stage_rejections sr WHERE sr.at < v_window_start
                      UNION ALL SELECT su.host COLLATE "C" FROM pg_temp.stage_unparsed su WHERE su.at < v_window_start
                         ) t
                   WHERE v_too_old > 0
           ) c
     GROUP BY c.host
    ON CONFLICT (source_id, host) DO UPDATE
       SET lines_read = ic.lines_read + excluded.lines_read
         , parsed     = ic.parsed + excluded.parsed
         , ignored    = ic.ignored + excluded.ignored
         , unparsed   = ic.unparsed + excluded.unparsed
         , too_old    = ic.too_old + excluded.too_old;

    UPDATE mailtrail.ingest_sources s
       SET committed_offset = p_new_offset
         , committed_line   = p_new_line
         , last_commit      = now()
         , lines_read       = s.lines_read + c.lines_read
         , parsed           = s.parsed + c.parsed
         , ignored          = s.ignored + c.ignored
         , unparsed         = s.unparsed + c.unparsed
         , too_old          = s.too_old + v_too_old
      FROM (SELECT coalesce(sum(sc.lines_read), 0) AS lines_read
                 , coalesce(sum(sc.parsed), 0)     AS parsed
                 , coalesce(sum(sc.ignored), 0)    AS ignored
                 , coalesce(sum(sc.unparsed), 0)   AS unparsed
              FROM pg_temp.stage_counts sc) c
     WHERE s.source_id = p_source_id;

    -- 5. The report.
    inserted_messages   := v_messages;
    inserted_deliveries := v_deliveries;
    inserted_rejections := v_rejections;
    inserted_unparsed   := v_unparsed;
    too_old_rows        := v_too_old;
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION mailtrail.ingest_merge(bigint, bigint, bigint, bigint, int) IS
    'Commit step of one ingest batch: checks the source checkpoint (MT001 on mismatch), loads pg_temp.stage_* inside the retention window, advances the checkpoint and counters; returns rows inserted and too_old.';
