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
