-- ingest_checkpoint.sql: mailtrail.ingest_checkpoint(...), the last step of one batch.
--
-- Contract (docs/architecture.md "Exactly-once ingest"): called inside the
--   batch's transaction after its rows were COPYed (and after
--   ingest_batch_begin()). It locks the source row and checks again that
--   committed_offset = p_expected_offset (MT001; MT002 for an unknown or
--   another agent's source), moves the checkpoint to (p_new_offset,
--   p_new_line), and adds the batch's line counters, given per host as
--   parallel arrays (p_hosts[i] with p_lines_read[i], p_parsed[i],
--   p_ignored[i], p_unparsed[i], p_too_old[i]; host '' = lines without a
--   readable host; a host listed twice is summed), to ingest_counts and
--   their sums to ingest_sources. too_old counts the fact rows the loader
--   did not send because they were older than the window that
--   ingest_batch_begin() returned. Nothing is committed here: the caller's
--   COMMIT makes rows, checkpoint and correlator state visible at once.
-- Security: SECURITY DEFINER, owned by the owner role, search_path =
--   pg_catalog, pg_temp, schema-qualified names. A restricted ingest agent
--   may only count its own hosts (and ''); else 42501 and nothing is
--   written.
-- Limits: the counters are what the loader says (a restricted agent can
--   only misreport its own sources).

CREATE OR REPLACE FUNCTION mailtrail.ingest_checkpoint(
      p_source_id        bigint
    , p_expected_offset  bigint
    , p_new_offset       bigint
    , p_new_line         bigint
    , p_hosts            text[]   DEFAULT '{}'
    , p_lines_read       bigint[] DEFAULT '{}'
    , p_parsed           bigint[] DEFAULT '{}'
    , p_ignored          bigint[] DEFAULT '{}'
    , p_unparsed         bigint[] DEFAULT '{}'
    , p_too_old          bigint[] DEFAULT '{}')
    RETURNS void
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_agent      text := mailtrail.ingest_agent();
    v_n          int := coalesce(cardinality(p_hosts), 0);
    v_bad_host   text;
BEGIN
    IF p_source_id IS NULL OR p_expected_offset IS NULL OR p_new_offset IS NULL OR p_new_line IS NULL THEN
        RAISE EXCEPTION 'ingest_checkpoint: source id, offsets and line number must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF p_new_offset < p_expected_offset OR p_new_line < 0 THEN
        RAISE EXCEPTION 'ingest_checkpoint: new offset % is before the expected offset % (or line % < 0)'
            , p_new_offset, p_expected_offset, p_new_line
            USING ERRCODE = '22023';
    END IF;
    IF coalesce(cardinality(p_lines_read), 0) <> v_n OR coalesce(cardinality(p_parsed), 0) <> v_n
       OR coalesce(cardinality(p_ignored), 0) <> v_n OR coalesce(cardinality(p_unparsed), 0) <> v_n
       OR coalesce(cardinality(p_too_old), 0) <> v_n
       OR array_position(p_hosts, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'ingest_checkpoint: the counter arrays must have one entry per host (%), hosts not NULL', v_n
            USING ERRCODE = '22023';
    END IF;

    PERFORM mailtrail.ingest_lock_source('ingest_checkpoint', p_source_id, p_expected_offset, v_agent);

    IF v_agent <> '' THEN
        SELECT h INTO v_bad_host
          FROM unnest(p_hosts) AS u(h)
         WHERE h <> '' AND NOT mailtrail.agent_host_allowed(v_agent, h)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'role % may not write rows for host %', quote_ident(v_agent), quote_literal(v_bad_host)
                USING ERRCODE = '42501'
                    , HINT = 'An administrator assigns hosts with: mailtrail db grant-agent --role ROLE --hosts HOST...';
        END IF;
    END IF;

    IF v_n > 0 THEN
        INSERT INTO mailtrail.ingest_counts AS ic (source_id, host, lines_read, parsed, ignored, unparsed, too_old)
        SELECT p_source_id, c.host, sum(c.lines_read), sum(c.parsed), sum(c.ignored), sum(c.unparsed), sum(c.too_old)
          FROM unnest(p_hosts, p_lines_read, p_parsed, p_ignored, p_unparsed, p_too_old)
               AS c(host, lines_read, parsed, ignored, unparsed, too_old)
         GROUP BY c.host
        ON CONFLICT (source_id, host) DO UPDATE
           SET lines_read = ic.lines_read + excluded.lines_read
             , parsed     = ic.parsed + excluded.parsed
             , ignored    = ic.ignored + excluded.ignored
             , unparsed   = ic.unparsed + excluded.unparsed
             , too_old    = ic.too_old + excluded.too_old;
    END IF;

    UPDATE mailtrail.ingest_sources s
       SET committed_offset = p_new_offset
         , committed_line   = p_new_line
         , last_commit      = now()
         , lines_read       = s.lines_read + c.lines_read
         , parsed           = s.parsed + c.parsed
         , ignored          = s.ignored + c.ignored
         , unparsed         = s.unparsed + c.unparsed
         , too_old          = s.too_old + c.too_old
      FROM (SELECT coalesce(sum(u.lines_read), 0) AS lines_read
                 , coalesce(sum(u.parsed), 0)     AS parsed
                 , coalesce(sum(u.ignored), 0)    AS ignored
                 , coalesce(sum(u.unparsed), 0)   AS unparsed
                 , coalesce(sum(u.too_old), 0)    AS too_old
              FROM unnest(p_lines_read, p_parsed, p_ignored, p_unparsed, p_too_old)
                   AS u(lines_read, parsed, ignored, unparsed, too_old)) c
     WHERE s.source_id = p_source_id;
END
$$;

COMMENT ON FUNCTION mailtrail.ingest_checkpoint(bigint, bigint, bigint, bigint, text[], bigint[], bigint[], bigint[], bigint[], bigint[]) IS
    'Last step of an ingest batch: checks the source checkpoint again (MT001/MT002), moves it to the new offset and line, adds the per-host line counters and too_old.';
