-- 0005_agent: bookkeeping of the log-following agent (`mailtrail agent`):
-- which source (ingest_sources row) each followed path currently reads, the
-- file's identity (device, inode) and how far behind the agent is, written
-- in the same transaction as every batch the agent commits.
--
-- Contract: additive only. One row per agent and followed path (the live
-- name, e.g. /var/log/mail.log; two relays follow the same path name); source_id moves to the new source when the file is
-- rotated. The agent finds the previous file after a rotation by the
-- fingerprint of that source (ingest_sources.fingerprint), so a restart
-- finishes a rotated (even gzip'd) file before it starts the new one.
-- Readers see it through the view mailtrail.report_agent_status
-- (sql/views/report_agent_status.sql).

CREATE TABLE mailtrail.agent_files (
      path          text        COLLATE "C" NOT NULL
    , agent         text        NOT NULL
    , source_id     bigint      NOT NULL
    , device        bigint
    , inode         bigint
    , file_size     bigint      NOT NULL DEFAULT 0
    , lag_bytes     bigint      NOT NULL DEFAULT 0
    , lag_seconds   double precision NOT NULL DEFAULT 0
    , last_line_at  timestamptz
    , updated_at    timestamptz NOT NULL DEFAULT now()
    , CONSTRAINT agent_files_pkey PRIMARY KEY (agent, path)
    , CONSTRAINT agent_files_source_fkey FOREIGN KEY (source_id)
          REFERENCES mailtrail.ingest_sources (source_id) ON DELETE CASCADE
);
COMMENT ON TABLE mailtrail.agent_files IS 'One row per path followed by a mailtrail agent: the source it reads now, the file identity and the lag, as of the agent''s last commit.';
COMMENT ON COLUMN mailtrail.agent_files.path IS 'The followed (live) path from the agent configuration, after glob expansion.';
COMMENT ON COLUMN mailtrail.agent_files.agent IS 'Name of the agent: agent.name in its configuration (default the machine''s host name); for a restricted ingest login (docs/security.md) always its login role.';
COMMENT ON COLUMN mailtrail.agent_files.source_id IS 'The source (ingest_sources) the path is read as now; changes at rotation.';
COMMENT ON COLUMN mailtrail.agent_files.device IS 'st_dev of the file read at the last commit.';
COMMENT ON COLUMN mailtrail.agent_files.inode IS 'st_ino of the file read at the last commit.';
COMMENT ON COLUMN mailtrail.agent_files.file_size IS 'Size of the file (bytes) seen at the last commit.';
COMMENT ON COLUMN mailtrail.agent_files.lag_bytes IS 'Bytes of the file not yet committed at the last commit (file_size - committed offset).';
COMMENT ON COLUMN mailtrail.agent_files.lag_seconds IS 'Log time between the last committed line and the file''s last write, when lag_bytes > 0; else 0.';
COMMENT ON COLUMN mailtrail.agent_files.last_line_at IS 'Log time of the last committed line whose time could be read.';
COMMENT ON COLUMN mailtrail.agent_files.updated_at IS 'When the agent last committed for this path.';
