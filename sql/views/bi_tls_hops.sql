-- bi_tls_hops.sql: network hops with their TLS facts, for BI tools.
--
-- What: view mailtrail.bi_tls_hops over mailtrail.report_tls_hops() (all
--   time, all hosts): inbound transactions from network clients and
--   outbound sent deliveries to network relays.
-- Contract: the function is plain SQL and inlined, so a filter on `time`
--   reaches both branches and prunes partitions. Columns only added at the
--   end.
-- Limits: see report_tls_hops.

CREATE OR REPLACE VIEW mailtrail.bi_tls_hops AS
SELECT t."time", t.direction, t.host, t.queue_id, t.msg_key, t.peer_name, t.peer_ip,
       t.tls_proto, t.tls_cipher, t.tls_bits, t.tls_trust, t.tls_ok
FROM mailtrail.report_tls_hops(NULL, NULL, NULL) t;

COMMENT ON VIEW mailtrail.bi_tls_hops IS 'Every network hop (inbound from a non-loopback client, outbound sent delivery to a non-loopback relay) with its TLS facts; time in UTC. Basis of the TLS share panels.';
COMMENT ON COLUMN mailtrail.bi_tls_hops."time" IS 'received_at (inbound) or delivery time (outbound), UTC.';
COMMENT ON COLUMN mailtrail.bi_tls_hops.direction IS 'inbound or outbound.';
COMMENT ON COLUMN mailtrail.bi_tls_hops.host IS 'Our host on this hop.';
COMMENT ON COLUMN mailtrail.bi_tls_hops.queue_id IS 'Queue ID on our host.';
COMMENT ON COLUMN mailtrail.bi_tls_hops.msg_key IS 'Key shared by all hops of one e-mail.';
COMMENT ON COLUMN mailtrail.bi_tls_hops.peer_name IS 'The other end: client name (inbound) or relay name (outbound).';
COMMENT ON COLUMN mailtrail.bi_tls_hops.peer_ip IS 'IP address of the other end.';
COMMENT ON COLUMN mailtrail.bi_tls_hops.tls_proto IS 'TLS protocol; NULL = no TLS logged (plaintext).';
COMMENT ON COLUMN mailtrail.bi_tls_hops.tls_cipher IS 'TLS cipher.';
COMMENT ON COLUMN mailtrail.bi_tls_hops.tls_bits IS 'TLS symmetric key bits.';
COMMENT ON COLUMN mailtrail.bi_tls_hops.tls_trust IS 'Peer certificate trust: Verified, Trusted, Untrusted, Anonymous.';
COMMENT ON COLUMN mailtrail.bi_tls_hops.tls_ok IS 'TLS 1.2 or newer.';
