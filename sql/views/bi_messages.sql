-- bi_messages.sql: transactions for BI tools (Metabase, Grafana, Superset).
--
-- What: view mailtrail.bi_messages — one row per transaction (messages row)
--   with `time` = received_at and derived columns (sender domain, TLS >= 1.2,
--   network client).
-- Contract: a plain projection of mailtrail.messages, so a filter on `time`
--   with literal bounds prunes day partitions. Columns are only added at
--   the end (CREATE OR REPLACE VIEW cannot drop or rename them).
-- Limits: one e-mail crossing three hosts is three rows (group by msg_key
--   to count e-mails).

CREATE OR REPLACE VIEW mailtrail.bi_messages AS
SELECT m.received_at AS "time"
     , m.host::text AS host
     , m.mta::text AS mta
     , m.queue_id::text AS queue_id
     , m.msg_key
     , m.message_id::text AS message_id
     , m.sender
     , mailtrail.report_domain(m.sender) AS sender_domain
     , m.client_name
     , m.client_ip
     , (m.client_ip IS NOT NULL AND NOT mailtrail.trace_is_loopback(m.client_ip)) AS from_network
     , m.size
     , m.nrcpt
     , m.tls_proto
     , m.tls_cipher
     , mailtrail.report_tls_ok(m.tls_proto) AS tls_ok
     , m.sasl_username
     , m.subject
     , m.dkim_result
     , m.dkim_domain
     , m.spam_verdict
     , m.spam_score
     , m.origin_kind
FROM mailtrail.messages m;

COMMENT ON VIEW mailtrail.bi_messages IS 'Transactions (one per queue ID and host) for BI tools; time = received_at (UTC). Filter on time to read only the needed day partitions.';
COMMENT ON COLUMN mailtrail.bi_messages."time" IS 'When the host received the message (qmgr first saw it), UTC.';
COMMENT ON COLUMN mailtrail.bi_messages.host IS 'Syslog host name of the mail server.';
COMMENT ON COLUMN mailtrail.bi_messages.mta IS 'MTA family: postfix, sendmail, exim, utm.';
COMMENT ON COLUMN mailtrail.bi_messages.queue_id IS 'Queue ID on this host.';
COMMENT ON COLUMN mailtrail.bi_messages.msg_key IS 'Key shared by all hops of one e-mail (count distinct msg_key to count e-mails).';
COMMENT ON COLUMN mailtrail.bi_messages.message_id IS 'Message-ID header without angle brackets; NULL when none was logged.';
COMMENT ON COLUMN mailtrail.bi_messages.sender IS 'Envelope sender; empty for the null sender <>.';
COMMENT ON COLUMN mailtrail.bi_messages.sender_domain IS 'Domain of the envelope sender, lower case.';
COMMENT ON COLUMN mailtrail.bi_messages.client_name IS 'Reverse name of the SMTP client.';
COMMENT ON COLUMN mailtrail.bi_messages.client_ip IS 'IP address of the SMTP client.';
COMMENT ON COLUMN mailtrail.bi_messages.from_network IS 'True when the client is a network address (not loopback, not local pickup).';
COMMENT ON COLUMN mailtrail.bi_messages.size IS 'Message size in bytes.';
COMMENT ON COLUMN mailtrail.bi_messages.nrcpt IS 'Number of recipients.';
COMMENT ON COLUMN mailtrail.bi_messages.tls_proto IS 'Inbound TLS protocol; NULL = no TLS logged.';
COMMENT ON COLUMN mailtrail.bi_messages.tls_cipher IS 'Inbound TLS cipher.';
COMMENT ON COLUMN mailtrail.bi_messages.tls_ok IS 'Inbound TLS 1.2 or newer.';
COMMENT ON COLUMN mailtrail.bi_messages.sasl_username IS 'SASL user of an authenticated submission.';
COMMENT ON COLUMN mailtrail.bi_messages.subject IS 'Subject when the MTA logs it.';
COMMENT ON COLUMN mailtrail.bi_messages.dkim_result IS 'DKIM result: pass, fail, neutral, temperror, permerror, none; NULL = not logged.';
COMMENT ON COLUMN mailtrail.bi_messages.dkim_domain IS 'DKIM signing domain (d=).';
COMMENT ON COLUMN mailtrail.bi_messages.spam_verdict IS 'Spam scanner verdict as logged.';
COMMENT ON COLUMN mailtrail.bi_messages.spam_score IS 'Spam score as logged.';
COMMENT ON COLUMN mailtrail.bi_messages.origin_kind IS 'How this transaction came from another on the same host: reinjection, bounce, requeue, forward, split; NULL for a fresh arrival.';
