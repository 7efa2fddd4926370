-- bi_deliveries.sql: delivery attempts for BI tools.
--
-- What: view mailtrail.bi_deliveries — one row per recipient per attempt
--   with `time` = at and derived columns (recipient domain, normalised
--   reason, TLS >= 1.2, network relay).
-- Contract: a plain projection of mailtrail.deliveries (a filter on `time`
--   prunes day partitions). Columns are only added at the end.
-- Limits: internal relay hops count as attempts too (filter on host or
--   to_network).

CREATE OR REPLACE VIEW mailtrail.bi_deliveries AS
SELECT d.at AS "time"
     , d.host::text AS host
     , d.queue_id::text AS queue_id
     , d.msg_key
     , d.recipient
     , mailtrail.report_domain(d.recipient) AS recipient_domain
     , d.orig_recipient
     , d.status
     , d.dsn
     , d.transport
     , d.relay_name
     , d.relay_ip
     , (d.relay_ip IS NOT NULL AND NOT mailtrail.trace_is_loopback(d.relay_ip)) AS to_network
     , d.delay
     , d.tls_proto
     , d.tls_cipher
     , mailtrail.report_tls_ok(d.tls_proto) AS tls_ok
     , d.response
     , mailtrail.report_reason(d.response) AS reason
FROM mailtrail.deliveries d;

COMMENT ON VIEW mailtrail.bi_deliveries IS 'Delivery attempts (one per recipient and attempt) for BI tools; time = at (UTC). Filter on time to read only the needed day partitions.';
COMMENT ON COLUMN mailtrail.bi_deliveries."time" IS 'Time of the delivery attempt, UTC.';
COMMENT ON COLUMN mailtrail.bi_deliveries.host IS 'Syslog host name of the delivering server.';
COMMENT ON COLUMN mailtrail.bi_deliveries.queue_id IS 'Queue ID of the message on this host.';
COMMENT ON COLUMN mailtrail.bi_deliveries.msg_key IS 'Key shared by all hops of one e-mail.';
COMMENT ON COLUMN mailtrail.bi_deliveries.recipient IS 'Final recipient address.';
COMMENT ON COLUMN mailtrail.bi_deliveries.recipient_domain IS 'Domain of the recipient, lower case.';
COMMENT ON COLUMN mailtrail.bi_deliveries.orig_recipient IS 'Original recipient before aliasing.';
COMMENT ON COLUMN mailtrail.bi_deliveries.status IS 'sent, deferred, bounced, expired, rejected, discarded, deliverable, undeliverable, softbounce.';
COMMENT ON COLUMN mailtrail.bi_deliveries.dsn IS 'Enhanced status code, e.g. 4.7.1.';
COMMENT ON COLUMN mailtrail.bi_deliveries.transport IS 'Delivery agent: smtp, lmtp, local, virtual, pipe, ...';
COMMENT ON COLUMN mailtrail.bi_deliveries.relay_name IS 'Next hop name.';
COMMENT ON COLUMN mailtrail.bi_deliveries.relay_ip IS 'Next hop IP address; NULL for local delivery and Unix sockets.';
COMMENT ON COLUMN mailtrail.bi_deliveries.to_network IS 'True when the next hop is a network address (not loopback, not local).';
COMMENT ON COLUMN mailtrail.bi_deliveries.delay IS 'Total delay in seconds since the message was received.';
COMMENT ON COLUMN mailtrail.bi_deliveries.tls_proto IS 'Outbound TLS protocol; NULL = no TLS logged.';
COMMENT ON COLUMN mailtrail.bi_deliveries.tls_cipher IS 'Outbound TLS cipher.';
COMMENT ON COLUMN mailtrail.bi_deliveries.tls_ok IS 'Outbound TLS 1.2 or newer.';
COMMENT ON COLUMN mailtrail.bi_deliveries.response IS 'Response text as logged.';
COMMENT ON COLUMN mailtrail.bi_deliveries.reason IS 'Response reduced for grouping (mailtrail.report_reason): no host prefix, no (in reply to ...), addresses replaced.';
