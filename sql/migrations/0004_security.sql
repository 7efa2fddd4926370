-- 0004_security: what the roles and the per-agent host restriction need in
-- the tables (docs/security.md).
--
-- What: ingest_sources gets an `agent` column (the login role that owns the
--   source; '' for unrestricted loaders: superusers and members of the
--   owner role), and the fingerprint is unique per agent, so one relay can
--   neither see nor block another relay's sources. agent_hosts maps an
--   ingest login role to the host names or glob patterns it may write.
--   settings gets roles_prefix (the prefix of the four group roles; the
--   session setting mailtrail.roles_prefix, set by `mailtrail db migrate
--   --roles-prefix`, wins on the first migrate).
-- Contract: additive; the roles themselves, ownership and grants are
--   (re-)applied by mailtrail.apply_security() at the end of every migrate
--   (roles are cluster-wide, so they cannot live in a per-database
--   migration that runs once).
-- Limits: changing roles_prefix later is not supported (the old roles would
--   keep their grants); `mailtrail db migrate` refuses it.

ALTER TABLE mailtrail.ingest_sources
    ADD COLUMN agent text COLLATE "C" NOT NULL DEFAULT '';
COMMENT ON COLUMN mailtrail.ingest_sources.agent IS 'Login role that registered the source when it is a restricted ingest agent; empty for unrestricted loaders (superuser, owner role members). A source is visible only to its agent.';

ALTER TABLE mailtrail.ingest_sources DROP CONSTRAINT ingest_sources_fingerprint_key;
ALTER TABLE mailtrail.ingest_sources
    ADD CONSTRAINT ingest_sources_agent_fingerprint_key UNIQUE (agent, fingerprint);

CREATE TABLE mailtrail.agent_hosts (
      agent         text COLLATE "C" NOT NULL
    , host_pattern  text COLLATE "C" NOT NULL
    , added_at      timestamptz NOT NULL DEFAULT now()
    , CONSTRAINT agent_hosts_pkey PRIMARY KEY (agent, host_pattern)
    , CONSTRAINT agent_hosts_pattern_check CHECK (host_pattern <> '' AND host_pattern !~ '[[:cntrl:][:space:]]')
);
COMMENT ON TABLE mailtrail.agent_hosts IS 'Hosts each ingest login role may write rows for (mailtrail db grant-agent / revoke-agent); checked by ingest_merge() and the correlator-state functions.';
COMMENT ON COLUMN mailtrail.agent_hosts.agent IS 'Login role name (session_user of the ingest connection).';
COMMENT ON COLUMN mailtrail.agent_hosts.host_pattern IS 'Exact syslog host name, or a glob: * = any characters, ? = one character (matched case-sensitively, byte order).';
COMMENT ON COLUMN mailtrail.agent_hosts.added_at IS 'When the assignment was made.';

INSERT INTO mailtrail.settings (key, value, description) VALUES
    ('roles_prefix'
   , coalesce(nullif(current_setting('mailtrail.roles_prefix', true), ''), 'mailtrail')
   , 'Prefix of the group roles <prefix>_owner, _maintenance, _ingest, _reader (cluster-wide names; see docs/security.md).');
