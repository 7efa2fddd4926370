-- trace_test.sql: the path reconstruction (sql/functions/trace*.sql) on a
-- small three-host scenario.
--
-- What: inserts one e-mail's life on relay1 -> relay2 / mx3 into the real
--   tables, then checks trace_hops(), trace_hops_by_queue_id(),
--   trace_json() and trace_json_by_queue_id() hop by hop.
-- Contract: one multi-statement string, no psql meta-commands; runs inside
--   BEGIN ... ROLLBACK, so it leaves the database as it found it. Any
--   mismatch raises an exception naming what differed. Needs a migrated
--   database with sql/functions applied (ensure_day_partitions, message_key).
-- Limits: fixed dates in March 2025 (partitions are created inside the
--   transaction); it tests the SQL contract only, not the ingest.
--
-- The scenario (relay2's clock is 2 minutes behind; the others are right):
--   relay1 AAA0001  10:00:00  from alice (SASL, TLS) for bob, carol, dave
--          -> content filter 127.0.0.1:10024 ... queued as AAA0002
--   relay1 AAA0002  10:00:01  re-injected (origin AAA0001, reinjection)
--          bob   -> relay2 "queued as BBB0001"                 (queued-as)
--          carol -> mx3 deferred at 10:00:04, sent at 10:20:00 (no id in
--                   the reply; msgid+address: relay=mx3.example.com)
--          dave  -> mx3 deferred, then bounced at 10:20:00
--   relay1 AAA0003  10:20:01  bounce for dave (origin AAA0002, bounce),
--          new message-id; -> relay2 "queued as BBB0002"        (queued-as)
--   relay2 BBB0001  09:58:03.5 (really 10:00:03.5)
--          bob -> mailstore (fork), eve -> inbound.example.org = mx3 behind
--          NAT: no address evidence                             (msgid+time)
--   relay2 BBB0002  10:18:03  the bounce arriving (really 10:20:03)
--   mx3    CCC0001  10:00:05.25  eve, client unknown[198.51.100.99]
--          -> its own content filter "queued as CCC0003"
--   mx3    CCC0003  10:00:06.5  re-injected, but not tied to CCC0001 by the
--          correlator (origin NULL): same-host queued-as      (reinjection)
--   mx3    CCC0002  10:20:00.75  carol, client relay1.example.org
--   relay1 AAA0009  11:00:00  no message-id at all -> relay2 BBB0009

BEGIN;

SELECT count(*) FROM mailtrail.ensure_day_partitions(DATE '2025-03-03', DATE '2025-03-03');

INSERT INTO mailtrail.messages
    (received_at, msg_key, host, mta, instance, queue_id, message_id, sender,
     client_name, client_ip, client_port, size, nrcpt, proto, helo,
     tls_proto, tls_cipher, tls_bits, sasl_method, sasl_username, origin_queue_id, origin_kind)
VALUES
    ('2025-03-03 10:00:00+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay1', 'postfix', 'postfix',
     'AAA0001', 'm1.trace-test@example.org', 'alice@example.org',
     'mua.example.org', '192.0.2.10', 51234, 2048, 3, 'ESMTP', 'laptop',
     'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 256, 'PLAIN', 'alice', NULL, NULL),
    ('2025-03-03 10:00:01+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay1', 'postfix', 'postfix',
     'AAA0002', 'm1.trace-test@example.org', 'alice@example.org',
     'localhost', '127.0.0.1', NULL, 2391, 3, 'ESMTP', 'localhost',
     NULL, NULL, NULL, NULL, NULL, 'AAA0001', 'reinjection'),
    ('2025-03-03 10:20:01+00', mailtrail.message_key('bounce.AAA0003@relay1.example.org'), 'relay1', 'postfix', 'postfix',
     'AAA0003', 'bounce.AAA0003@relay1.example.org', '',
     NULL, NULL, NULL, 4100, 1, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, 'AAA0002', 'bounce'),
    ('2025-03-03 09:58:03.5+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay2', 'postfix', 'postfix',
     'BBB0001', 'm1.trace-test@example.org', 'alice@example.org',
     'relay1.example.org', '192.0.2.1', 40001, 2600, 1, 'ESMTP', 'relay1.example.org',
     'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 256, NULL, NULL, NULL, NULL),
    ('2025-03-03 10:18:03+00', mailtrail.message_key('bounce.AAA0003@relay1.example.org'), 'relay2', 'postfix', 'postfix',
     'BBB0002', 'bounce.AAA0003@relay1.example.org', '',
     'relay1.example.org', '192.0.2.1', 40002, 4400, 1, 'ESMTP', 'relay1.example.org',
     'TLSv1.2', 'ECDHE-RSA-AES256-GCM-SHA384', 256, NULL, NULL, NULL, NULL),
    ('2025-03-03 10:00:05.25+00', mailtrail.message_key('m1.trace-test@example.org'), 'mx3', 'postfix', 'postfix',
     'CCC0001', 'm1.trace-test@example.org', 'alice@example.org',
     'unknown', '198.51.100.99', NULL, 2900, 1, 'ESMTP', 'gw.example.net',
     NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('2025-03-03 10:00:06.5+00', mailtrail.message_key('m1.trace-test@example.org'), 'mx3', 'postfix', 'postfix',
     'CCC0003', 'm1.trace-test@example.org', 'alice@example.org',
     'localhost', '127.0.0.1', NULL, 3100, 1, 'ESMTP', 'localhost',
     NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('2025-03-03 10:20:00.75+00', mailtrail.message_key('m1.trace-test@example.org'), 'mx3', 'postfix', 'postfix',
     'CCC0002', 'm1.trace-test@example.org', 'alice@example.org',
     'relay1.example.org', '192.0.2.1', NULL, 2700, 1, 'ESMTP', 'relay1.example.org',
     'TLSv1.3', 'TLS_AES_128_GCM_SHA256', 128, NULL, NULL, NULL, NULL),
    ('2025-03-03 11:00:00+00', mailtrail.message_key('relay1/AAA0009'), 'relay1', 'postfix', 'postfix',
     'AAA0009', NULL, 'cron@relay1.example.org',
     NULL, NULL, NULL, 500, 1, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('2025-03-03 11:00:02+00', mailtrail.message_key('relay2/BBB0009'), 'relay2', 'postfix', 'postfix',
     'BBB0009', NULL, 'cron@relay1.example.org',
     'relay1.example.org', '192.0.2.1', NULL, 700, 1, 'ESMTP', 'relay1.example.org',
     NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    -- Noise: an unrelated message that reuses queue ID BBB0001 on relay2
    -- five hours later.
    ('2025-03-03 15:00:00+00', mailtrail.message_key('other@example.net'), 'relay2', 'postfix', 'postfix',
     'BBB0001', 'other@example.net', 'someone@example.net',
     'elsewhere.example.net', '203.0.113.77', NULL, 999, 1, 'ESMTP', 'elsewhere.example.net',
     NULL, NULL, NULL, NULL, NULL, NULL, NULL);

INSERT INTO mailtrail.deliveries
    (at, msg_key, host, instance, queue_id, received_at, recipient, orig_recipient, status, dsn,
     transport, relay_name, relay_ip, relay_port, delay, tls_proto, tls_cipher, response, next_queue_id)
VALUES
    -- AAA0001: all three to the content filter, queued as AAA0002
    ('2025-03-03 10:00:02+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay1', 'postfix', 'AAA0001',
     '2025-03-03 10:00:00+00', 'bob@example.net', NULL, 'sent', '2.0.0', 'smtp', '127.0.0.1', '127.0.0.1', 10024, 1.9,
     NULL, NULL, '250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as AAA0002', 'AAA0002'),
    ('2025-03-03 10:00:02+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay1', 'postfix', 'AAA0001',
     '2025-03-03 10:00:00+00', 'carol@example.com', NULL, 'sent', '2.0.0', 'smtp', '127.0.0.1', '127.0.0.1', 10024, 1.9,
     NULL, NULL, '250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as AAA0002', 'AAA0002'),
    ('2025-03-03 10:00:02+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay1', 'postfix', 'AAA0001',
     '2025-03-03 10:00:00+00', 'dave@example.com', NULL, 'sent', '2.0.0', 'smtp', '127.0.0.1', '127.0.0.1', 10024, 1.9,
     NULL, NULL, '250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as AAA0002', 'AAA0002'),
    -- AAA0002: bob to relay2, carol and dave deferred by mx3
    ('2025-03-03 10:00:03+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay1', 'postfix', 'AAA0002',
     '2025-03-03 10:00:01+00', 'bob@example.net', NULL, 'sent', '2.0.0', 'smtp', 'relay2.example.net', '198.51.100.2', 25, 2.1,
     'TLSv1.3', 'TLS_AES_256_GCM_SHA384', '250 2.0.0 Ok: queued as BBB0001', 'BBB0001'),
    ('2025-03-03 10:00:04+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay1', 'postfix', 'AAA0002',
     '2025-03-03 10:00:01+00', 'carol@example.com', NULL, 'deferred', '4.7.1', 'smtp', 'mx3.example.com', '203.0.113.3', 25, 3,
     NULL, NULL, 'host mx3.example.com[203.0.113.3] said: 451 4.7.1 Try again later (in reply to RCPT TO command)', NULL),
    ('2025-03-03 10:00:04+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay1', 'postfix', 'AAA0002',
     '2025-03-03 10:00:01+00', 'dave@example.com', NULL, 'deferred', '4.7.1', 'smtp', 'mx3.example.com', '203.0.113.3', 25, 3,
     NULL, NULL, 'host mx3.example.com[203.0.113.3] said: 451 4.7.1 Try again later (in reply to RCPT TO command)', NULL),
    ('2025-03-03 10:20:00+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay1', 'postfix', 'AAA0002',
     '2025-03-03 10:00:01+00', 'carol@example.com', NULL, 'sent', '2.0.0', 'smtp', 'mx3.example.com', '203.0.113.3', 25, 1199,
     'TLSv1.3', 'TLS_AES_128_GCM_SHA256', '250 2.0.0 Message accepted', NULL),
    ('2025-03-03 10:20:00+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay1', 'postfix', 'AAA0002',
     '2025-03-03 10:00:01+00', 'dave@example.com', NULL, 'bounced', '5.1.1', 'smtp', 'mx3.example.com', '203.0.113.3', 25, 1199,
     'TLSv1.3', 'TLS_AES_128_GCM_SHA256',
     'host mx3.example.com[203.0.113.3] said: 550 5.1.1 <dave@example.com>: Recipient address rejected: User unknown (in reply to RCPT TO command)', NULL),
    -- AAA0003: the bounce to alice, through relay2
    ('2025-03-03 10:20:02+00', mailtrail.message_key('bounce.AAA0003@relay1.example.org'), 'relay1', 'postfix', 'AAA0003',
     '2025-03-03 10:20:01+00', 'alice@example.org', NULL, 'sent', '2.0.0', 'smtp', 'relay2.example.net', '198.51.100.2', 25, 1,
     NULL, NULL, '250 2.0.0 Ok: queued as BBB0002', 'BBB0002'),
    -- BBB0001 (relay2, clock 2 minutes behind): fork to the mailstore and to mx3 behind NAT
    ('2025-03-03 09:58:04+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay2', 'postfix', 'BBB0001',
     '2025-03-03 09:58:03.5+00', 'bob@example.net', NULL, 'sent', '2.0.0', 'lmtp', 'mailstore.example.net', '198.51.100.20', 24, 0.5,
     NULL, NULL, '250 2.0.0 <bob@example.net> Saved', NULL),
    ('2025-03-03 09:58:05+00', mailtrail.message_key('m1.trace-test@example.org'), 'relay2', 'postfix', 'BBB0001',
     '2025-03-03 09:58:03.5+00', 'eve@example.org', 'bob@example.net', 'sent', '2.0.0', 'smtp', 'inbound.example.org', '203.0.113.30', 25, 1.5,
     NULL, NULL, '250 OK', NULL),
    -- BBB0002: the bounce into alice's mailbox
    ('2025-03-03 10:18:04+00', mailtrail.message_key('bounce.AAA0003@relay1.example.org'), 'relay2', 'postfix', 'BBB0002',
     '2025-03-03 10:18:03+00', 'alice@example.org', NULL, 'sent', '2.0.0', 'lmtp', 'mailstore.example.net', '198.51.100.20', 24, 1,
     NULL, NULL, '250 2.0.0 <alice@example.org> Saved', NULL),
    -- CCC0001 (mx3): to the content filter; CCC0003, CCC0002: local
    -- deliveries, the second one without received_at
    ('2025-03-03 10:00:06+00', mailtrail.message_key('m1.trace-test@example.org'), 'mx3', 'postfix', 'CCC0001',
     '2025-03-03 10:00:05.25+00', 'eve@example.org', NULL, 'sent', '2.0.0', 'smtp', '127.0.0.1', '127.0.0.1', 10026, 0.75,
     NULL, NULL, '250 2.0.0 from MTA(smtp:[127.0.0.1]:10027): 250 2.0.0 Ok: queued as CCC0003', 'CCC0003'),
    ('2025-03-03 10:00:07+00', mailtrail.message_key('m1.trace-test@example.org'), 'mx3', 'postfix', 'CCC0003',
     '2025-03-03 10:00:06.5+00', 'eve@example.org', NULL, 'sent', '2.0.0', 'local', 'local', NULL, NULL, 0.5,
     NULL, NULL, 'delivered to mailbox', NULL),
    ('2025-03-03 10:20:01+00', mailtrail.message_key('m1.trace-test@example.org'), 'mx3', 'postfix', 'CCC0002',
     NULL, 'carol@example.com', NULL, 'sent', '2.0.0', 'local', 'local', NULL, NULL, 0.25,
     NULL, NULL, E'delivered to mailbox\x01\t"quoted"', NULL),
    -- AAA0009 -> BBB0009, neither has a message-id
    ('2025-03-03 11:00:03+00', mailtrail.message_key('relay1/AAA0009'), 'relay1', 'postfix', 'AAA0009',
     '2025-03-03 11:00:00+00', 'root@example.net', NULL, 'sent', '2.0.0', 'smtp', 'relay2.example.net', '198.51.100.2', 25, 3,
     NULL, NULL, '250 2.0.0 Ok: queued as BBB0009', 'BBB0009'),
    -- the unrelated BBB0001 (queue ID reused) has its own delivery
    ('2025-03-03 15:00:01+00', mailtrail.message_key('other@example.net'), 'relay2', 'postfix', 'BBB0001',
     '2025-03-03 15:00:00+00', 'x@example.net', NULL, 'sent', '2.0.0', 'local', 'local', NULL, NULL, 1,
     NULL, NULL, 'delivered to mailbox', NULL);

-- Expected hops of the message-id: hop, host, queue_id, parents, link.
DO $test$
DECLARE
    v_expected text := $e$
1 relay1 AAA0001 {} -
2 relay1 AAA0002 {1} reinjection
3 relay2 BBB0001 {2} queued-as
4 mx3 CCC0001 {3} msgid+time
5 mx3 CCC0003 {4} reinjection
6 mx3 CCC0002 {2} msgid+address
7 relay1 AAA0003 {2} bounce
8 relay2 BBB0002 {7} queued-as
$e$;
    v_got text;
BEGIN
    SELECT E'\n' || string_agg(format('%s %s %s %s %s', t.hop, t.host, t.queue_id, t.parents, COALESCE(t.link, '-')),
                               E'\n' ORDER BY t.hop) || E'\n'
      INTO v_got
      FROM mailtrail.trace_hops('m1.trace-test@example.org') t;
    IF v_got IS DISTINCT FROM v_expected THEN
        RAISE EXCEPTION 'trace_hops(msgid): expected%got%', v_expected, v_got;
    END IF;

    -- Angle brackets and blanks are stripped; explicit bounds give the same.
    SELECT E'\n' || string_agg(format('%s %s %s %s %s', t.hop, t.host, t.queue_id, t.parents, COALESCE(t.link, '-')),
                               E'\n' ORDER BY t.hop) || E'\n'
      INTO v_got
      FROM mailtrail.trace_hops(' <m1.trace-test@example.org> ', '2025-03-03 00:00+00', '2025-03-04 00:00+00') t;
    IF v_got IS DISTINCT FROM v_expected THEN
        RAISE EXCEPTION 'trace_hops(<msgid>, bounds): expected%got%', v_expected, v_got;
    END IF;

    -- Starting from the bounce: its own message-id only (downstream closure).
    SELECT E'\n' || string_agg(format('%s %s %s %s %s', t.hop, t.host, t.queue_id, t.parents, COALESCE(t.link, '-')),
                               E'\n' ORDER BY t.hop) || E'\n'
      INTO v_got
      FROM mailtrail.trace_hops_by_queue_id('AAA0003', 'relay1') t;
    IF v_got IS DISTINCT FROM E'\n1 relay1 AAA0003 {} -\n2 relay2 BBB0002 {1} queued-as\n' THEN
        RAISE EXCEPTION 'trace_hops_by_queue_id(AAA0003): got%', v_got;
    END IF;

    -- Starting from a hop of the message traces the whole message-id.
    SELECT count(*)::text INTO v_got FROM mailtrail.trace_hops_by_queue_id('CCC0002') t;
    IF v_got IS DISTINCT FROM '8' THEN
        RAISE EXCEPTION 'trace_hops_by_queue_id(CCC0002): expected 8 hops, got %', v_got;
    END IF;

    -- No message-id anywhere: the closure from the one message.
    SELECT E'\n' || string_agg(format('%s %s %s %s %s', t.hop, t.host, t.queue_id, t.parents, COALESCE(t.link, '-')),
                               E'\n' ORDER BY t.hop) || E'\n'
      INTO v_got
      FROM mailtrail.trace_hops_by_queue_id('AAA0009') t;
    IF v_got IS DISTINCT FROM E'\n1 relay1 AAA0009 {} -\n2 relay2 BBB0009 {1} queued-as\n' THEN
        RAISE EXCEPTION 'trace_hops_by_queue_id(AAA0009): got%', v_got;
    END IF;

    -- Queue-ID reuse: BBB0001 on relay2 is, most recently, the other message.
    SELECT string_agg(t.queue_id || '@' || t.host, ',' ORDER BY t.hop) INTO v_got
      FROM mailtrail.trace_hops_by_queue_id('BBB0001', 'relay2') t;
    IF v_got IS DISTINCT FROM 'BBB0001@relay2' THEN
        RAISE EXCEPTION 'trace_hops_by_queue_id(BBB0001, relay2): got %', v_got;
    END IF;
    SELECT count(*)::text INTO v_got
      FROM mailtrail.trace_hops_by_queue_id('BBB0001', 'relay2', NULL, '2025-03-03 12:00+00') t;
    IF v_got IS DISTINCT FROM '8' THEN
        RAISE EXCEPTION 'trace_hops_by_queue_id(BBB0001, relay2, until noon): expected 8 hops, got %', v_got;
    END IF;

    -- Bounds that exclude everything, and unknown ids: no rows.
    SELECT count(*)::text INTO v_got
      FROM mailtrail.trace_hops('m1.trace-test@example.org', '2025-03-04 00:00+00') t;
    IF v_got IS DISTINCT FROM '0' THEN
        RAISE EXCEPTION 'trace_hops with bounds after the message: expected 0 hops, got %', v_got;
    END IF;
    SELECT count(*)::text INTO v_got FROM mailtrail.trace_hops('no-such-id@example.org') t;
    IF v_got IS DISTINCT FROM '0' THEN
        RAISE EXCEPTION 'trace_hops(unknown): expected 0 hops, got %', v_got;
    END IF;
    SELECT count(*)::text INTO v_got FROM mailtrail.trace_hops_by_queue_id('NOSUCHQID') t;
    IF v_got IS DISTINCT FROM '0' THEN
        RAISE EXCEPTION 'trace_hops_by_queue_id(unknown): expected 0 hops, got %', v_got;
    END IF;

    -- A skew window smaller than relay2's 2 minutes loses every link to it:
    -- BBB0001 becomes a root (documented limit: p_skew must cover the skew).
    SELECT string_agg(format('%s:%s', t.queue_id, COALESCE(t.link, '-')), ',' ORDER BY t.hop) INTO v_got
      FROM mailtrail.trace_hops('m1.trace-test@example.org', p_skew => interval '1 minute') t
     WHERE t.host = 'relay2';
    IF v_got IS DISTINCT FROM 'BBB0001:-' THEN
        RAISE EXCEPTION 'trace_hops(skew 1 minute) on relay2: got %', v_got;
    END IF;
END
$test$;

-- The JSON document.
DO $test$
DECLARE
    v_doc   jsonb := mailtrail.trace_json('<m1.trace-test@example.org>');
    v_hop   jsonb;
    v_got   text;
BEGIN
    IF v_doc IS NULL THEN
        RAISE EXCEPTION 'trace_json: NULL for a known message-id';
    END IF;
    IF v_doc->>'msgid' IS DISTINCT FROM 'm1.trace-test@example.org' THEN
        RAISE EXCEPTION 'trace_json: msgid is %', v_doc->>'msgid';
    END IF;
    IF jsonb_array_length(v_doc->'hops') <> 8 THEN
        RAISE EXCEPTION 'trace_json: expected 8 hops, got %', jsonb_array_length(v_doc->'hops');
    END IF;

    -- Hop 1 in full (keys may be added later, so compare a projection).
    v_hop := v_doc->'hops'->0;
    v_got := jsonb_build_object(
          'hop', v_hop->'hop', 'parents', v_hop->'parents', 'link', v_hop->'link', 'host', v_hop->'host'
        , 'queue_id', v_hop->'queue_id', 'received_at', v_hop->'received_at', 'sender', v_hop->'sender'
        , 'client', v_hop->'client', 'instance', v_hop->'instance', 'message_id', v_hop->'message_id'
        , 'size', v_hop->'size', 'tls', v_hop->'tls', 'sasl_username', v_hop->'sasl_username'
        , 'origin', v_hop->'origin')::text;
    IF v_got IS DISTINCT FROM jsonb_build_object(
          'hop', 1, 'parents', '[]'::jsonb, 'link', NULL, 'host', 'relay1'
        , 'queue_id', 'AAA0001', 'received_at', '2025-03-03T10:00:00Z', 'sender', 'alice@example.org'
        , 'client', jsonb_build_object('name', 'mua.example.org', 'ip', '192.0.2.10', 'port', 51234)
        , 'instance', 'postfix', 'message_id', 'm1.trace-test@example.org'
        , 'size', 2048, 'tls', jsonb_build_object('proto', 'TLSv1.3', 'cipher', 'TLS_AES_256_GCM_SHA384',
                                                  'bits', 256, 'trust', NULL)
        , 'sasl_username', 'alice', 'origin', NULL)::text THEN
        RAISE EXCEPTION 'trace_json: hop 1 is %', v_got;
    END IF;
    IF (SELECT string_agg(e->>'recipient', ',' ORDER BY ord) FROM jsonb_array_elements(v_hop->'deliveries') WITH ORDINALITY AS x(e, ord))
       IS DISTINCT FROM 'bob@example.net,carol@example.com,dave@example.com' THEN
        RAISE EXCEPTION 'trace_json: hop 1 deliveries are %', v_hop->'deliveries';
    END IF;

    -- Hop 2: origin, deliveries ordered by at then recipient, with
    -- deferrals, the bounce and the next queue ID.
    v_hop := v_doc->'hops'->1;
    IF v_hop->'origin' IS DISTINCT FROM '{"queue_id": "AAA0001", "kind": "reinjection"}'::jsonb
       OR v_hop->'tls' IS DISTINCT FROM 'null'::jsonb
       OR v_hop->'parents' IS DISTINCT FROM '[1]'::jsonb THEN
        RAISE EXCEPTION 'trace_json: hop 2 is %', v_hop;
    END IF;
    SELECT string_agg(format('%s %s %s %s %s', e->>'at', e->>'recipient', e->>'status', e->>'dsn',
                             COALESCE(e->>'next_queue_id', '-')), ' | ' ORDER BY ord)
      INTO v_got
      FROM jsonb_array_elements(v_hop->'deliveries') WITH ORDINALITY AS x(e, ord);
    IF v_got IS DISTINCT FROM
         '2025-03-03T10:00:03Z bob@example.net sent 2.0.0 BBB0001'
      || ' | 2025-03-03T10:00:04Z carol@example.com deferred 4.7.1 -'
      || ' | 2025-03-03T10:00:04Z dave@example.com deferred 4.7.1 -'
      || ' | 2025-03-03T10:20:00Z carol@example.com sent 2.0.0 -'
      || ' | 2025-03-03T10:20:00Z dave@example.com bounced 5.1.1 -' THEN
        RAISE EXCEPTION 'trace_json: hop 2 deliveries are %', v_got;
    END IF;
    IF ((v_hop->'deliveries'->0) - 'response'::text - 'delay'::text) IS DISTINCT FROM jsonb_build_object(
          'recipient', 'bob@example.net', 'orig_recipient', NULL, 'at', '2025-03-03T10:00:03Z'
        , 'status', 'sent', 'dsn', '2.0.0'
        , 'relay', jsonb_build_object('name', 'relay2.example.net', 'ip', '198.51.100.2', 'port', 25)
        , 'next_queue_id', 'BBB0001', 'transport', 'smtp', 'router', NULL
        , 'tls', jsonb_build_object('proto', 'TLSv1.3', 'cipher', 'TLS_AES_256_GCM_SHA384',
                                    'bits', NULL, 'trust', NULL)) THEN
        RAISE EXCEPTION 'trace_json: hop 2 first delivery is %', v_hop->'deliveries'->0;
    END IF;
    IF (v_hop->'deliveries'->0->>'delay')::numeric <> 2.1
       OR v_hop->'deliveries'->0->>'response' IS DISTINCT FROM '250 2.0.0 Ok: queued as BBB0001' THEN
        RAISE EXCEPTION 'trace_json: hop 2 first delivery delay/response are %', v_hop->'deliveries'->0;
    END IF;

    -- Fractional seconds (microseconds only when non-zero), the skewed host.
    v_hop := v_doc->'hops'->2;
    IF v_hop->>'received_at' IS DISTINCT FROM '2025-03-03T09:58:03.500000Z'
       OR v_hop->>'link' IS DISTINCT FROM 'queued-as' THEN
        RAISE EXCEPTION 'trace_json: hop 3 is %', v_hop;
    END IF;
    IF jsonb_array_length(v_hop->'deliveries') <> 2
       OR v_hop->'deliveries'->1->>'orig_recipient' IS DISTINCT FROM 'bob@example.net' THEN
        RAISE EXCEPTION 'trace_json: hop 3 deliveries are %', v_hop->'deliveries';
    END IF;

    -- A delivery without received_at still belongs to its hop; control
    -- characters survive as data.
    v_hop := v_doc->'hops'->5;
    IF v_hop->>'queue_id' IS DISTINCT FROM 'CCC0002'
       OR jsonb_array_length(v_hop->'deliveries') <> 1
       OR v_hop->'deliveries'->0->>'response' IS DISTINCT FROM E'delivered to mailbox\x01\t"quoted"'
       OR v_hop->'client' IS DISTINCT FROM '{"name": "relay1.example.org", "ip": "192.0.2.1", "port": null}'::jsonb THEN
        RAISE EXCEPTION 'trace_json: hop 6 is %', v_hop;
    END IF;

    -- The bounce: null sender, its origin, its own message-id.
    v_hop := v_doc->'hops'->6;
    IF v_hop->>'sender' IS DISTINCT FROM ''
       OR v_hop->'origin' IS DISTINCT FROM '{"queue_id": "AAA0002", "kind": "bounce"}'::jsonb
       OR v_hop->>'message_id' IS DISTINCT FROM 'bounce.AAA0003@relay1.example.org'
       OR v_hop->'client' IS DISTINCT FROM '{"name": null, "ip": null, "port": null}'::jsonb THEN
        RAISE EXCEPTION 'trace_json: hop 7 is %', v_hop;
    END IF;

    -- By queue ID, and the misses.
    v_doc := mailtrail.trace_json_by_queue_id('AAA0009', 'relay1');
    IF v_doc->'msgid' IS DISTINCT FROM 'null'::jsonb
       OR jsonb_array_length(v_doc->'hops') <> 2
       OR v_doc->'hops'->1->>'queue_id' IS DISTINCT FROM 'BBB0009' THEN
        RAISE EXCEPTION 'trace_json_by_queue_id(AAA0009): %', v_doc;
    END IF;
    v_doc := mailtrail.trace_json_by_queue_id('AAA0003');
    IF v_doc->>'msgid' IS DISTINCT FROM 'bounce.AAA0003@relay1.example.org' THEN
        RAISE EXCEPTION 'trace_json_by_queue_id(AAA0003): %', v_doc;
    END IF;
    IF mailtrail.trace_json('no-such-id@example.org') IS NOT NULL
       OR mailtrail.trace_json('') IS NOT NULL
       OR mailtrail.trace_json(NULL) IS NOT NULL
       OR mailtrail.trace_json_by_queue_id('NOSUCHQID') IS NOT NULL THEN
        RAISE EXCEPTION 'trace_json: expected NULL for unknown ids';
    END IF;

    -- RFC 3339 rendering matches Swift's Timestamp.rfc3339.
    IF mailtrail.trace_rfc3339('2025-03-03 10:00:00+00') IS DISTINCT FROM '2025-03-03T10:00:00Z'
       OR mailtrail.trace_rfc3339('2025-03-03 12:00:00.000001+02') IS DISTINCT FROM '2025-03-03T10:00:00.000001Z'
       OR mailtrail.trace_rfc3339('0999-12-31 23:59:59.5+00') IS DISTINCT FROM '0999-12-31T23:59:59.500000Z' THEN
        RAISE EXCEPTION 'trace_rfc3339: wrong rendering';
    END IF;
END
$test$;

ROLLBACK;
