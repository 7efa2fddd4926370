-- report_agent_status.sql: the view mailtrail.report_agent_status, what
-- `mailtrail status` prints; readers may query it (report_* naming, so the
-- reader roles' grants cover it).
--
-- Contract: one row per followed path: agent, hosts seen in the current
--   source, path, committed offset and line, file size, lag in bytes and
--   seconds, last commit, and the source's line counters.
-- Limits: as of each path's last commit (see agent_files); an agent that
--   stopped shows an old last_commit, not a growing lag.

CREATE OR REPLACE VIEW mailtrail.report_agent_status AS
SELECT f.agent
     , coalesce((SELECT string_agg(DISTINCT c.host, ',' ORDER BY c.host)
                   FROM mailtrail.ingest_counts c
                  WHERE c.source_id = s.source_id AND c.host <> ''), s.host_hint, '') AS hosts
     , f.path
     , s.source_id
     , s.committed_offset AS "offset"
     , s.committed_line   AS line
     , f.file_size
     , f.lag_bytes
     , f.lag_seconds
     , f.last_line_at
     , s.last_commit
     , s.lines_read
     , s.parsed
     , s.ignored
     , s.unparsed
     , f.device
     , f.inode
  FROM mailtrail.agent_files f
  JOIN mailtrail.ingest_sources s ON s.source_id = f.source_id;

COMMENT ON VIEW mailtrail.report_agent_status IS
    'Agent status per followed path: hosts, offset, lag (bytes, seconds), last commit, lines parsed/unparsed (as of the last commit).';
COMMENT ON COLUMN mailtrail.report_agent_status.agent IS 'Agent name (agent_files.agent).';
COMMENT ON COLUMN mailtrail.report_agent_status.hosts IS 'Hosts seen in the current source, comma-separated (else the source''s host hint).';
COMMENT ON COLUMN mailtrail.report_agent_status.path IS 'The followed (live) path.';
COMMENT ON COLUMN mailtrail.report_agent_status.source_id IS 'The source (ingest_sources) the path is read as now.';
COMMENT ON COLUMN mailtrail.report_agent_status."offset" IS 'Committed byte offset in the current source.';
COMMENT ON COLUMN mailtrail.report_agent_status.line IS 'Number of committed lines of the current source.';
COMMENT ON COLUMN mailtrail.report_agent_status.file_size IS 'Size of the file at the last commit (bytes).';
COMMENT ON COLUMN mailtrail.report_agent_status.lag_bytes IS 'Bytes of the file not yet committed at the last commit.';
COMMENT ON COLUMN mailtrail.report_agent_status.lag_seconds IS 'Log time between the last committed line and the file''s last write at the last commit.';
COMMENT ON COLUMN mailtrail.report_agent_status.last_line_at IS 'Log time of the last committed line.';
COMMENT ON COLUMN mailtrail.report_agent_status.last_commit IS 'When the source was last committed.';
COMMENT ON COLUMN mailtrail.report_agent_status.lines_read IS 'Lines read from the current source.';
COMMENT ON COLUMN mailtrail.report_agent_status.parsed IS 'Lines of the current source that produced an event.';
COMMENT ON COLUMN mailtrail.report_agent_status.ignored IS 'Known lines of the current source that carry nothing stored.';
COMMENT ON COLUMN mailtrail.report_agent_status.unparsed IS 'Lines of the current source that were not understood (kept in unparsed_lines).';
COMMENT ON COLUMN mailtrail.report_agent_status.device IS 'st_dev of the file at the last commit.';
COMMENT ON COLUMN mailtrail.report_agent_status.inode IS 'st_ino of the file at the last commit.';
