-- 0001_initial.sql: the mailtrail schema, version 1.
--
-- What: schema `mailtrail` with the bookkeeping tables (schema_version,
--   settings, ingest_sources, ingest_counts, correlator_state) and the four
--   fact tables (messages, deliveries, rejections, unparsed_lines), each
--   PARTITION BY RANGE on a UTC timestamptz with one partition per day named
--   <table>_pYYYYMMDD (created by mailtrail.ensure_day_partitions()).
-- Contract: a released migration is never edited; later changes are new
--   numbered files. Apply in one transaction (`psql -1 -f`, or `mailtrail
--   migrate`, which also records the version). The routines in
--   sql/functions/ are applied after the migrations.
-- Limits: no default partition on purpose (a row for a day without a
--   partition is an error, never a silent spill); fact tables have no unique
--   keys (exactly-once comes from the ingest checkpoint, see
--   docs/architecture.md); identifier-like columns use COLLATE "C" (byte
--   order, cheaper comparisons); addresses keep the database collation so
--   that lower() folds non-ASCII letters too.

CREATE SCHEMA mailtrail;
COMMENT ON SCHEMA mailtrail IS 'mailtrail: mail-server log archive (facts partitioned by day, ingest bookkeeping).';

------------------------------------------------------------------------------
-- Bookkeeping
------------------------------------------------------------------------------

CREATE TABLE mailtrail.schema_version (
      version      int         NOT NULL
    , applied_at   timestamptz NOT NULL DEFAULT now()
    , description  text        NOT NULL
    , CONSTRAINT schema_version_pkey PRIMARY KEY (version)
);
COMMENT ON TABLE mailtrail.schema_version IS 'One row per applied migration (sql/migrations/NNNN_*.sql).';
COMMENT ON COLUMN mailtrail.schema_version.version IS 'Migration number (the NNNN of the file name).';
COMMENT ON COLUMN mailtrail.schema_version.applied_at IS 'When the migration was applied.';
COMMENT ON COLUMN mailtrail.schema_version.description IS 'What the migration did (from its file name).';

CREATE TABLE mailtrail.settings (
      key          text NOT NULL
    , value        text NOT NULL
    , description  text
    , CONSTRAINT settings_pkey PRIMARY KEY (key)
);
COMMENT ON TABLE mailtrail.settings IS 'Tunables read by the maintenance and merge routines when no explicit argument is given.';
COMMENT ON COLUMN mailtrail.settings.key IS 'Setting name: retention_days, premake_days.';
COMMENT ON COLUMN mailtrail.settings.value IS 'Setting value as text (integers for the known keys).';
COMMENT ON COLUMN mailtrail.settings.description IS 'What the setting means.';

INSERT INTO mailtrail.settings (key, value, description) VALUES
      ('retention_days', '90', 'Days of facts kept before today (UTC); whole older day partitions are dropped, older rows are not loaded. 0 = keep forever.')
    , ('premake_days',   '7',  'Day partitions created ahead of today (UTC) by run_maintenance().');

CREATE TABLE mailtrail.ingest_sources (
      source_id         bigserial   NOT NULL
    , fingerprint       text        NOT NULL
    , path              text
    , format            text
    , host_hint         text
    , committed_offset  bigint      NOT NULL DEFAULT 0
    , committed_line    bigint      NOT NULL DEFAULT 0
    , first_seen        timestamptz NOT NULL DEFAULT now()
    , last_commit       timestamptz
    , lines_read        bigint      NOT NULL DEFAULT 0
    , parsed            bigint      NOT NULL DEFAULT 0
    , ignored           bigint      NOT NULL DEFAULT 0
    , unparsed          bigint      NOT NULL DEFAULT 0
    , too_old           bigint      NOT NULL DEFAULT 0
    , CONSTRAINT ingest_sources_pkey PRIMARY KEY (source_id)
    , CONSTRAINT ingest_sources_fingerprint_key UNIQUE (fingerprint)
    , CONSTRAINT ingest_sources_offset_check CHECK (committed_offset >= 0 AND committed_line >= 0)
);
COMMENT ON TABLE mailtrail.ingest_sources IS 'One row per input stream (log file, rotated or compressed copies included), with its exactly-once checkpoint.';
COMMENT ON COLUMN mailtrail.ingest_sources.source_id IS 'Surrogate key, referenced by unparsed_lines and ingest_counts.';
COMMENT ON COLUMN mailtrail.ingest_sources.fingerprint IS 'FNV-1a 64 of the first line (up to and including the first newline, at most 1024 bytes), as text: identity survives rename and gzip.';
COMMENT ON COLUMN mailtrail.ingest_sources.path IS 'Path the source was last read from (informational).';
COMMENT ON COLUMN mailtrail.ingest_sources.format IS 'Log format the source was read as (e.g. rfc3164, rfc3339).';
COMMENT ON COLUMN mailtrail.ingest_sources.host_hint IS 'Host name given on the command line for sources whose lines carry none.';
COMMENT ON COLUMN mailtrail.ingest_sources.committed_offset IS 'Decompressed byte offset up to which lines are committed; the next ingest resumes here.';
COMMENT ON COLUMN mailtrail.ingest_sources.committed_line IS 'Number of lines committed (the 1-based number of the last committed line).';
COMMENT ON COLUMN mailtrail.ingest_sources.first_seen IS 'When the source was first opened.';
COMMENT ON COLUMN mailtrail.ingest_sources.last_commit IS 'When the last batch of this source was committed.';
COMMENT ON COLUMN mailtrail.ingest_sources.lines_read IS 'Lines read from this source (all hosts).';
COMMENT ON COLUMN mailtrail.ingest_sources.parsed IS 'Lines that produced an event.';
COMMENT ON COLUMN mailtrail.ingest_sources.ignored IS 'Known lines that carry nothing we store.';
COMMENT ON COLUMN mailtrail.ingest_sources.unparsed IS 'Lines that were not understood (kept in unparsed_lines).';
COMMENT ON COLUMN mailtrail.ingest_sources.too_old IS 'Fact rows not loaded because they were older than the retention window.';

CREATE TABLE mailtrail.ingest_counts (
      source_id   bigint NOT NULL
    , host        text   NOT NULL
    , lines_read  bigint NOT NULL DEFAULT 0
    , parsed      bigint NOT NULL DEFAULT 0
    , ignored     bigint NOT NULL DEFAULT 0
    , unparsed    bigint NOT NULL DEFAULT 0
    , too_old     bigint NOT NULL DEFAULT 0
    , CONSTRAINT ingest_counts_pkey PRIMARY KEY (source_id, host)
    , CONSTRAINT ingest_counts_source_fkey FOREIGN KEY (source_id)
          REFERENCES mailtrail.ingest_sources (source_id) ON DELETE CASCADE
);
COMMENT ON TABLE mailtrail.ingest_counts IS 'Line and row counters per source and host, added to at each committed batch.';
COMMENT ON COLUMN mailtrail.ingest_counts.source_id IS 'The source (ingest_sources.source_id).';
COMMENT ON COLUMN mailtrail.ingest_counts.host IS 'Syslog host name; empty string when the line had no readable host.';
COMMENT ON COLUMN mailtrail.ingest_counts.lines_read IS 'Lines read.';
COMMENT ON COLUMN mailtrail.ingest_counts.parsed IS 'Lines that produced an event.';
COMMENT ON COLUMN mailtrail.ingest_counts.ignored IS 'Known lines that carry nothing we store.';
COMMENT ON COLUMN mailtrail.ingest_counts.unparsed IS 'Lines that were not understood.';
COMMENT ON COLUMN mailtrail.ingest_counts.too_old IS 'Fact rows not loaded because they were older than the retention window.';

CREATE TABLE mailtrail.correlator_state (
      host        text        NOT NULL
    , state       bytea       NOT NULL
    , version     bigint      NOT NULL
    , updated_at  timestamptz NOT NULL DEFAULT now()
    , CONSTRAINT correlator_state_pkey PRIMARY KEY (host)
    , CONSTRAINT correlator_state_version_check CHECK (version > 0)
);
COMMENT ON TABLE mailtrail.correlator_state IS 'Saved correlator state per host (open transactions and sessions), written in the same transaction as the batch it follows.';
COMMENT ON COLUMN mailtrail.correlator_state.host IS 'Syslog host name the state belongs to.';
COMMENT ON COLUMN mailtrail.correlator_state.state IS 'Opaque serialized state (the Correlation module''s Codable encoding).';
COMMENT ON COLUMN mailtrail.correlator_state.version IS 'Optimistic-concurrency counter: 1 at first write, +1 per write; a writer must present the version it read.';
COMMENT ON COLUMN mailtrail.correlator_state.updated_at IS 'When the state was last written.';

------------------------------------------------------------------------------
-- Facts: one partition per UTC day, created by ensure_day_partitions().
-- Indexes are declared on the parents, so every partition inherits them.
-- Each index costs load speed (see docs/schema.md): only lookups the CLI
-- makes get one.
------------------------------------------------------------------------------

CREATE TABLE mailtrail.messages (
      received_at      timestamptz NOT NULL
    , msg_key          bigint      NOT NULL
    , host             text COLLATE "C" NOT NULL
    , mta              text COLLATE "C" NOT NULL
    , instance         text COLLATE "C" NOT NULL
    , queue_id         text COLLATE "C" NOT NULL
    , message_id       text COLLATE "C"
    , sender           text
    , client_name      text
    , client_ip        inet
    , client_port      int
    , size             bigint
    , nrcpt            int
    , proto            text
    , helo             text
    , tls_proto        text
    , tls_cipher       text
    , tls_bits         int
    , tls_trust        text
    , sasl_method      text
    , sasl_username    text
    , origin_queue_id  text COLLATE "C"
    , origin_kind      text
    , CONSTRAINT messages_origin_kind_check
          CHECK (origin_kind IN ('reinjection', 'bounce', 'requeue', 'forward'))
) PARTITION BY RANGE (received_at);
COMMENT ON TABLE mailtrail.messages IS 'One row per transaction (message) per host; partitioned by day of received_at (UTC).';
COMMENT ON COLUMN mailtrail.messages.received_at IS 'When qmgr first logged the message (queue active), UTC; the partition key.';
COMMENT ON COLUMN mailtrail.messages.msg_key IS 'FNV-1a 64 (signed) of the Message-ID, else of host/queue_id; the same for all hops of one e-mail (mailtrail.message_key()).';
COMMENT ON COLUMN mailtrail.messages.host IS 'Syslog host name of the mail server.';
COMMENT ON COLUMN mailtrail.messages.mta IS 'MTA family: postfix, sendmail, exim, ...';
COMMENT ON COLUMN mailtrail.messages.instance IS 'MTA instance (Postfix syslog_name prefix, e.g. postfix, postfix-out); queue IDs are unique per instance.';
COMMENT ON COLUMN mailtrail.messages.queue_id IS 'Queue ID on this host and instance.';
COMMENT ON COLUMN mailtrail.messages.message_id IS 'Message-ID header without angle brackets; NULL when none was logged.';
COMMENT ON COLUMN mailtrail.messages.sender IS 'Envelope sender; empty string for the null sender <>.';
COMMENT ON COLUMN mailtrail.messages.client_name IS 'Reverse name of the SMTP client (or unknown, local).';
COMMENT ON COLUMN mailtrail.messages.client_ip IS 'IP address of the SMTP client; NULL when not logged or not an address.';
COMMENT ON COLUMN mailtrail.messages.client_port IS 'TCP port of the SMTP client.';
COMMENT ON COLUMN mailtrail.messages.size IS 'Message size in bytes as logged by qmgr.';
COMMENT ON COLUMN mailtrail.messages.nrcpt IS 'Number of recipients as logged by qmgr.';
COMMENT ON COLUMN mailtrail.messages.proto IS 'SMTP or ESMTP (from the client session).';
COMMENT ON COLUMN mailtrail.messages.helo IS 'HELO/EHLO name the client gave.';
COMMENT ON COLUMN mailtrail.messages.tls_proto IS 'Inbound TLS protocol, e.g. TLSv1.3.';
COMMENT ON COLUMN mailtrail.messages.tls_cipher IS 'Inbound TLS cipher.';
COMMENT ON COLUMN mailtrail.messages.tls_bits IS 'Inbound TLS symmetric key bits.';
COMMENT ON COLUMN mailtrail.messages.tls_trust IS 'Postfix trust word: Anonymous, Untrusted, Trusted, Verified.';
COMMENT ON COLUMN mailtrail.messages.sasl_method IS 'SASL mechanism of an authenticated submission.';
COMMENT ON COLUMN mailtrail.messages.sasl_username IS 'SASL user name of an authenticated submission.';
COMMENT ON COLUMN mailtrail.messages.origin_queue_id IS 'Queue ID of the transaction on the same host this one came from.';
COMMENT ON COLUMN mailtrail.messages.origin_kind IS 'How origin_queue_id was linked: reinjection, bounce, requeue, forward.';

-- Trace by Message-ID (the most common question).
CREATE INDEX messages_message_id_idx ON mailtrail.messages (message_id);
-- Trace by queue ID as seen in a log line (with or without the host), and
-- following a delivery's `queued as` ID to the next hop, whose host the
-- delivery line does not name: queue_id first serves both lookups.
CREATE INDEX messages_queue_id_host_idx ON mailtrail.messages (queue_id, host);
-- Same-host links: re-injected copies, bounces, requeues of a transaction
-- (partial: only those few rows have an origin).
CREATE INDEX messages_origin_queue_id_idx ON mailtrail.messages (host, origin_queue_id)
    WHERE origin_queue_id IS NOT NULL;
-- Search by sender, case-insensitively.
CREATE INDEX messages_lower_sender_idx ON mailtrail.messages (lower(sender));
-- Search by client address ("what did 192.0.2.7 send?").
CREATE INDEX messages_client_ip_idx ON mailtrail.messages (client_ip);
-- Join all hops of one e-mail across hosts (and the future distribution column).
CREATE INDEX messages_msg_key_idx ON mailtrail.messages (msg_key);

CREATE TABLE mailtrail.deliveries (
      at                 timestamptz NOT NULL
    , msg_key            bigint      NOT NULL
    , host               text COLLATE "C" NOT NULL
    , instance           text COLLATE "C" NOT NULL
    , queue_id           text COLLATE "C" NOT NULL
    , received_at        timestamptz
    , recipient          text        NOT NULL
    , orig_recipient     text
    , status             text        NOT NULL
    , dsn                text
    , transport          text
    , relay_name         text
    , relay_ip           inet
    , relay_port         int
    , delay              real
    , delay_before_qmgr  real
    , delay_in_qmgr      real
    , delay_conn         real
    , delay_xmit         real
    , conn_use           int
    , tls_feature        text
    , tls_proto          text
    , tls_cipher         text
    , tls_bits           int
    , response           text
    , next_queue_id      text COLLATE "C"
    , CONSTRAINT deliveries_status_check CHECK (status IN (
          'sent', 'deferred', 'bounced', 'expired', 'rejected', 'discarded'
        , 'deliverable', 'undeliverable', 'softbounce'))
) PARTITION BY RANGE (at);
COMMENT ON TABLE mailtrail.deliveries IS 'One row per recipient per delivery attempt; partitioned by day of at (UTC).';
COMMENT ON COLUMN mailtrail.deliveries.at IS 'Time of the delivery line, UTC; the partition key.';
COMMENT ON COLUMN mailtrail.deliveries.msg_key IS 'Same key as the message row (mailtrail.message_key()).';
COMMENT ON COLUMN mailtrail.deliveries.host IS 'Syslog host name of the mail server.';
COMMENT ON COLUMN mailtrail.deliveries.instance IS 'MTA instance the queue ID belongs to.';
COMMENT ON COLUMN mailtrail.deliveries.queue_id IS 'Queue ID of the message on this host.';
COMMENT ON COLUMN mailtrail.deliveries.received_at IS 'received_at of the message row (NULL when its start is not in the log); lets a lookup prune messages partitions.';
COMMENT ON COLUMN mailtrail.deliveries.recipient IS 'Final recipient address (to=).';
COMMENT ON COLUMN mailtrail.deliveries.orig_recipient IS 'Original recipient before aliasing (orig_to=).';
COMMENT ON COLUMN mailtrail.deliveries.status IS 'sent, deferred, bounced, expired, rejected, discarded, deliverable, undeliverable, softbounce.';
COMMENT ON COLUMN mailtrail.deliveries.dsn IS 'Enhanced status code, e.g. 2.0.0.';
COMMENT ON COLUMN mailtrail.deliveries.transport IS 'Delivery agent: smtp, lmtp, local, virtual, pipe, error, ...';
COMMENT ON COLUMN mailtrail.deliveries.relay_name IS 'Next hop name (none, local, a pipe service or a host name).';
COMMENT ON COLUMN mailtrail.deliveries.relay_ip IS 'Next hop IP address.';
COMMENT ON COLUMN mailtrail.deliveries.relay_port IS 'Next hop TCP port.';
COMMENT ON COLUMN mailtrail.deliveries.delay IS 'Total delay in seconds (delay=).';
COMMENT ON COLUMN mailtrail.deliveries.delay_before_qmgr IS 'delays= part a: before the queue manager.';
COMMENT ON COLUMN mailtrail.deliveries.delay_in_qmgr IS 'delays= part b: in the queue manager.';
COMMENT ON COLUMN mailtrail.deliveries.delay_conn IS 'delays= part c: connection setup.';
COMMENT ON COLUMN mailtrail.deliveries.delay_xmit IS 'delays= part d: transmission.';
COMMENT ON COLUMN mailtrail.deliveries.conn_use IS 'Connection reuse count (conn_use=).';
COMMENT ON COLUMN mailtrail.deliveries.tls_feature IS 'Postfix 3.11+ tls= feature status on the delivery line.';
COMMENT ON COLUMN mailtrail.deliveries.tls_proto IS 'Outbound TLS protocol.';
COMMENT ON COLUMN mailtrail.deliveries.tls_cipher IS 'Outbound TLS cipher.';
COMMENT ON COLUMN mailtrail.deliveries.tls_bits IS 'Outbound TLS symmetric key bits.';
COMMENT ON COLUMN mailtrail.deliveries.response IS 'Remote or local response text (the parenthesised status text).';
COMMENT ON COLUMN mailtrail.deliveries.next_queue_id IS 'Queue ID of the next hop (or the same host''s re-injection) taken from the response.';

-- Trace by queue ID and the join from a message to its deliveries.
CREATE INDEX deliveries_host_queue_id_idx ON mailtrail.deliveries (host, queue_id);
-- Search by recipient, case-insensitively.
CREATE INDEX deliveries_lower_recipient_idx ON mailtrail.deliveries (lower(recipient));
-- Follow a message to the next hop (partial: most deliveries have none).
CREATE INDEX deliveries_next_queue_id_idx ON mailtrail.deliveries (next_queue_id) WHERE next_queue_id IS NOT NULL;
-- Join all hops of one e-mail across hosts.
CREATE INDEX deliveries_msg_key_idx ON mailtrail.deliveries (msg_key);

CREATE TABLE mailtrail.rejections (
      at           timestamptz NOT NULL
    , msg_key      bigint      NOT NULL
    , host         text COLLATE "C" NOT NULL
    , instance     text COLLATE "C" NOT NULL
    , queue_id     text COLLATE "C"
    , program      text        NOT NULL
    , action       text        NOT NULL
    , stage        text
    , client_name  text
    , client_ip    inet
    , client_port  int
    , helo         text
    , sender       text
    , recipient    text
    , proto        text
    , code         text
    , dsn          text
    , reason       text
) PARTITION BY RANGE (at);
COMMENT ON TABLE mailtrail.rejections IS 'One row per refusal (NOQUEUE, RCPT, milter, header/body checks); partitioned by day of at (UTC).';
COMMENT ON COLUMN mailtrail.rejections.at IS 'Time of the refusal line, UTC; the partition key.';
COMMENT ON COLUMN mailtrail.rejections.msg_key IS 'Message key (of the transaction when there is one, else derived by the correlator).';
COMMENT ON COLUMN mailtrail.rejections.host IS 'Syslog host name of the mail server.';
COMMENT ON COLUMN mailtrail.rejections.instance IS 'MTA instance.';
COMMENT ON COLUMN mailtrail.rejections.queue_id IS 'Queue ID when the refusal happened inside a transaction that had one.';
COMMENT ON COLUMN mailtrail.rejections.program IS 'Program that refused: smtpd, postscreen, cleanup.';
COMMENT ON COLUMN mailtrail.rejections.action IS 'reject, reject_warning, milter-reject, hangup, discard, hold, ...';
COMMENT ON COLUMN mailtrail.rejections.stage IS 'SMTP stage: CONNECT, HELO, EHLO, MAIL, RCPT, DATA, END-OF-MESSAGE, header, body, ...';
COMMENT ON COLUMN mailtrail.rejections.client_name IS 'Reverse name of the SMTP client.';
COMMENT ON COLUMN mailtrail.rejections.client_ip IS 'IP address of the SMTP client.';
COMMENT ON COLUMN mailtrail.rejections.client_port IS 'TCP port of the SMTP client.';
COMMENT ON COLUMN mailtrail.rejections.helo IS 'HELO/EHLO name.';
COMMENT ON COLUMN mailtrail.rejections.sender IS 'Envelope sender (from=).';
COMMENT ON COLUMN mailtrail.rejections.recipient IS 'Envelope recipient (to=).';
COMMENT ON COLUMN mailtrail.rejections.proto IS 'SMTP or ESMTP.';
COMMENT ON COLUMN mailtrail.rejections.code IS 'SMTP reply code, e.g. 554.';
COMMENT ON COLUMN mailtrail.rejections.dsn IS 'Enhanced status code, e.g. 5.7.1.';
COMMENT ON COLUMN mailtrail.rejections.reason IS 'Refusal text.';

-- Search refusals by client address.
CREATE INDEX rejections_client_ip_idx ON mailtrail.rejections (client_ip);
-- Search refusals by sender, case-insensitively.
CREATE INDEX rejections_lower_sender_idx ON mailtrail.rejections (lower(sender));
-- Search refusals by recipient, case-insensitively.
CREATE INDEX rejections_lower_recipient_idx ON mailtrail.rejections (lower(recipient));
-- Trace: refusals inside a transaction (partial: most are NOQUEUE).
CREATE INDEX rejections_host_queue_id_idx ON mailtrail.rejections (host, queue_id) WHERE queue_id IS NOT NULL;

CREATE TABLE mailtrail.unparsed_lines (
      at           timestamptz NOT NULL
    , source_id    bigint      NOT NULL
    , host         text COLLATE "C"
    , line_number  bigint      NOT NULL
    , byte_offset  bigint      NOT NULL
    , reason       text        NOT NULL
    , raw          bytea       NOT NULL
) PARTITION BY RANGE (at);
COMMENT ON TABLE mailtrail.unparsed_lines IS 'Lines that were not understood, kept byte for byte; partitioned by day of at (UTC). No index: rare rows, read by time range. No foreign key: facts carry no constraints that cost load time.';
COMMENT ON COLUMN mailtrail.unparsed_lines.at IS 'Time of the line when its envelope could be read, else of the last good line before it, UTC; the partition key.';
COMMENT ON COLUMN mailtrail.unparsed_lines.source_id IS 'The source it came from (ingest_sources.source_id).';
COMMENT ON COLUMN mailtrail.unparsed_lines.host IS 'Syslog host name when it could be read.';
COMMENT ON COLUMN mailtrail.unparsed_lines.line_number IS '1-based line number in the decompressed source.';
COMMENT ON COLUMN mailtrail.unparsed_lines.byte_offset IS 'Offset of the line''s first byte in the decompressed source.';
COMMENT ON COLUMN mailtrail.unparsed_lines.reason IS 'Why the line was not understood.';
COMMENT ON COLUMN mailtrail.unparsed_lines.raw IS 'The exact bytes of the line as read (any encoding, NUL included).';

INSERT INTO mailtrail.schema_version (version, description) VALUES (1, 'initial');
