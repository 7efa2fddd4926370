-- trace_core.sql (test): the step-wise closure of mailtrail.trace_core()
-- where its per-statement time bounds could go wrong.
--
-- What: a message whose queue ID is reused on the same host two hours later,
--   with deliveries that carry no received_at (so the hop's lifetime ends at
--   the reuse), deliveries days after receipt (partitions away), a
--   queued-as next hop that is not a row of the traced message-id (the
--   table lookup, not the seeds), and a bounce with a message-id of its own
--   (origin link and message-id group rule); checks hops, parents, links,
--   every hop's delivery rows against trace_hop_deliveries(), and
--   trace_json's deliveries. Then a chain whose every next hop is a row of
--   the traced message-id and whose every delivery was sent, so that each
--   step's lookups have empty ranges (the statement over the arrays only):
--   queued-as to another host, a same-host re-injection, a queue ID reused
--   within the skew (the closer row wins), and the JSON document.
-- Contract: runs inside BEGIN ... ROLLBACK; raises an exception naming what
--   differed. Fixed dates in April 2025 (partitions made inside the
--   transaction).
-- Limits: the rules themselves are tested by trace_test.sql; this file
--   covers the bounds trace_core adds.

BEGIN;

SELECT count(*) FROM mailtrail.ensure_day_partitions('2025-04-01', '2025-04-20');

-- relay1 Q1 10:00 (msgid r1): one delivery without received_at at 10:05
--   to relay2 "queued as R2" (R2 logs no message-id: the table lookup, not
--   the seeds), one deferred and bounced four days later (five partitions).
-- relay1 Q1 again at 12:00 (reuse, msgid other): its own delivery without
--   received_at at 12:05, which is not the first Q1's.
-- relay2 R2 10:05:01, no message-id: deferred, bounced three days later,
--   which makes the bounce R3 (origin R2, msgid b3) -> relay1 "queued as
--   Q4" (msgid b3).
INSERT INTO mailtrail.messages
    (received_at, msg_key, host, mta, instance, queue_id, message_id, sender, client_name, client_ip,
     origin_queue_id, origin_kind)
VALUES
    ('2025-04-01 10:00:00+00', 1, 'relay1', 'postfix', 'postfix', 'Q1', 'r1@test', 'a@example.org', 'app', '192.0.2.9', NULL, NULL),
    ('2025-04-01 12:00:00+00', 2, 'relay1', 'postfix', 'postfix', 'Q1', 'other@test', 'x@example.org', 'app', '192.0.2.9', NULL, NULL),
    ('2025-04-01 10:05:01+00', 3, 'relay2', 'postfix', 'postfix', 'R2', NULL, 'a@example.org', 'relay1', '192.0.2.1', NULL, NULL),
    ('2025-04-04 10:00:01+00', 4, 'relay2', 'postfix', 'postfix', 'R3', 'b3@test', '', NULL, NULL, 'R2', 'bounce'),
    ('2025-04-04 10:00:03+00', 4, 'relay1', 'postfix', 'postfix', 'Q4', 'b3@test', '', 'relay2', '192.0.2.2', NULL, NULL);

INSERT INTO mailtrail.deliveries
    (at, msg_key, host, instance, queue_id, received_at, recipient, status, relay_name, relay_ip, response, next_queue_id)
VALUES
    ('2025-04-01 10:05:00+00', 1, 'relay1', 'postfix', 'Q1', NULL, 'b@example.net', 'sent', 'relay2', '192.0.2.2',
     '250 2.0.0 Ok: queued as R2', 'R2'),
    ('2025-04-01 10:06:00+00', 1, 'relay1', 'postfix', 'Q1', '2025-04-01 10:00:00+00', 'c@example.com', 'deferred',
     'mx.example.com', '203.0.113.5', '451 try later', NULL),
    ('2025-04-05 09:59:59+00', 1, 'relay1', 'postfix', 'Q1', '2025-04-01 10:00:00+00', 'c@example.com', 'bounced',
     'mx.example.com', '203.0.113.5', '550 no such user', NULL),
    ('2025-04-01 12:05:00+00', 2, 'relay1', 'postfix', 'Q1', NULL, 'y@example.net', 'sent', 'relay2', '192.0.2.2',
     '250 2.0.0 Ok', NULL),
    ('2025-04-01 10:05:02+00', 3, 'relay2', 'postfix', 'R2', '2025-04-01 10:05:01+00', 'b@example.net', 'deferred',
     'mbox.example.net', '198.51.100.7', '451 mailbox busy', NULL),
    ('2025-04-04 10:00:00+00', 3, 'relay2', 'postfix', 'R2', '2025-04-01 10:05:01+00', 'b@example.net', 'bounced',
     'mbox.example.net', '198.51.100.7', '550 mailbox gone', NULL),
    ('2025-04-04 10:00:02+00', 4, 'relay2', 'postfix', 'R3', '2025-04-04 10:00:01+00', 'a@example.org', 'sent',
     'relay1', '192.0.2.1', '250 2.0.0 Ok: queued as Q4', 'Q4'),
    ('2025-04-04 10:00:04+00', 4, 'relay1', 'postfix', 'Q4', '2025-04-04 10:00:03+00', 'a@example.org', 'sent',
     'local', NULL, 'delivered to mailbox', NULL);

DO $test$
DECLARE
    v_got  text;
    v_doc  jsonb;
BEGIN
    SELECT string_agg(format('%s %s/%s %s %s %s', t.hop, (t.msg).host, (t.msg).queue_id,
                             array_to_string(t.parents, ','), coalesce(t.link, '-'),
                             (SELECT string_agg(d.recipient || ':' || d.status, ',' ORDER BY d.at)
                              FROM unnest(t.deliveries) d)), E'\n' ORDER BY t.hop)
      INTO v_got
      FROM mailtrail.trace_core('r1@test', NULL, NULL, NULL, NULL, NULL, NULL, '10 minutes') t;
    IF v_got IS DISTINCT FROM concat_ws(E'\n',
            '1 relay1/Q1  - b@example.net:sent,c@example.com:deferred,c@example.com:bounced',
            '2 relay2/R2 1 queued-as b@example.net:deferred,b@example.net:bounced',
            '3 relay2/R3 2 bounce a@example.org:sent',
            '4 relay1/Q4 3 queued-as a@example.org:sent') THEN
        RAISE EXCEPTION 'trace_core(r1): got%', E'\n' || v_got;
    END IF;

    -- Every hop's delivery rows are exactly trace_hop_deliveries() of the hop.
    SELECT string_agg((t.msg).queue_id, ',')
      INTO v_got
      FROM mailtrail.trace_core('r1@test', NULL, NULL, NULL, NULL, NULL, NULL, '10 minutes') t
     WHERE (SELECT array_agg(d::text ORDER BY d::text) FROM unnest(t.deliveries) d)
           IS DISTINCT FROM
           (SELECT array_agg(d::text ORDER BY d::text)
            FROM mailtrail.trace_hop_deliveries((t.msg).host, (t.msg).instance, (t.msg).queue_id,
                                                (t.msg).received_at) d);
    IF v_got IS NOT NULL THEN
        RAISE EXCEPTION 'trace_core(r1): deliveries differ from trace_hop_deliveries for %', v_got;
    END IF;

    -- The reused queue ID is its own trace and keeps its own delivery only.
    SELECT string_agg(format('%s %s/%s %s', t.hop, (t.msg).host, (t.msg).queue_id, cardinality(t.deliveries)),
                      E'\n' ORDER BY t.hop)
      INTO v_got
      FROM mailtrail.trace_core('other@test', NULL, NULL, NULL, NULL, NULL, NULL, '10 minutes') t;
    IF v_got IS DISTINCT FROM '1 relay1/Q1 1' THEN
        RAISE EXCEPTION 'trace_core(other): got %', v_got;
    END IF;

    -- From the starting hop R2 without a message-id: R2 and what came of it
    -- (links go downstream only).
    SELECT string_agg(format('%s %s/%s', t.hop, (t.msg).host, (t.msg).queue_id), ',' ORDER BY t.hop)
      INTO v_got
      FROM mailtrail.trace_core(NULL, 'relay2', 'postfix', 'R2', '2025-04-01 10:05:01+00', NULL, NULL, '10 minutes') t;
    IF v_got IS DISTINCT FROM '1 relay2/R2,2 relay2/R3,3 relay1/Q4' THEN
        RAISE EXCEPTION 'trace_core(start R2): got %', v_got;
    END IF;

    -- A window that ends before the bounce: the message-id lookup is bounded,
    -- the links are not.
    SELECT count(*)::text INTO v_got
      FROM mailtrail.trace_core('r1@test', NULL, NULL, NULL, NULL, '2025-04-01', '2025-04-02', '10 minutes') t;
    IF v_got <> '4' THEN
        RAISE EXCEPTION 'trace_core(r1, one day): expected 4 hops, got %', v_got;
    END IF;

    -- trace_json: the first hop's deliveries in time order, the 12:05 one of
    -- the reused queue ID not among them.
    v_doc := mailtrail.trace_json('<r1@test>');
    SELECT string_agg(d->>'at', ',') INTO v_got
      FROM jsonb_array_elements(v_doc->'hops'->0->'deliveries') d;
    IF v_got IS DISTINCT FROM '2025-04-01T10:05:00Z,2025-04-01T10:06:00Z,2025-04-05T09:59:59Z' THEN
        RAISE EXCEPTION 'trace_json(r1): hop 1 deliveries at %', v_got;
    END IF;
    IF jsonb_array_length(v_doc->'hops') <> 4 OR v_doc->'hops'->2->>'link' <> 'bounce' THEN
        RAISE EXCEPTION 'trace_json(r1): %', v_doc;
    END IF;
END
$test$;

-- A chain traced through the seeds only (msgid f1 on every row, every
-- delivery sent): relay1 F1 -> relay2 F2 (queued as F2; relay2 took a
-- second F1 copy as F2 again at 08:04, within the skew, which the 08:00:05
-- delivery must not link to) -> relay2 F3 (content filter re-injection,
-- same host) -> mbox1 F4 (queued as F4).
INSERT INTO mailtrail.messages
    (received_at, msg_key, host, mta, instance, queue_id, message_id, sender, client_name, client_ip,
     origin_queue_id, origin_kind)
VALUES
    ('2025-04-10 08:00:00+00', 11, 'relay1', 'postfix', 'postfix', 'F1', 'f1@test', 'a@example.org', 'app', '192.0.2.9', NULL, NULL),
    ('2025-04-10 08:00:05+00', 12, 'relay2', 'postfix', 'postfix', 'F2', 'f1@test', 'a@example.org', 'relay1', '192.0.2.1', NULL, NULL),
    ('2025-04-10 08:04:00+00', 13, 'relay2', 'postfix', 'postfix', 'F2', 'f1@test', 'a@example.org', 'relay9', '192.0.2.99', NULL, NULL),
    ('2025-04-10 08:00:07+00', 14, 'relay2', 'postfix', 'postfix', 'F3', 'f1@test', 'a@example.org', 'localhost', '127.0.0.1', NULL, NULL),
    ('2025-04-10 08:00:08+00', 15, 'mbox1', 'postfix', 'postfix', 'F4', 'f1@test', 'a@example.org', 'relay2', '192.0.2.2', NULL, NULL);

INSERT INTO mailtrail.deliveries
    (at, msg_key, host, instance, queue_id, received_at, recipient, status, relay_name, relay_ip, response, next_queue_id)
VALUES
    ('2025-04-10 08:00:04+00', 11, 'relay1', 'postfix', 'F1', '2025-04-10 08:00:00+00', 'b@example.net', 'sent',
     'relay2', '192.0.2.2', '250 2.0.0 Ok: queued as F2', 'F2'),
    ('2025-04-10 08:00:06+00', 12, 'relay2', 'postfix', 'F2', '2025-04-10 08:00:05+00', 'b@example.net', 'sent',
     'localhost', '127.0.0.1', '250 2.0.0 Ok: queued as F3', 'F3'),
    ('2025-04-10 08:04:01+00', 13, 'relay2', 'postfix', 'F2', '2025-04-10 08:04:00+00', 'b@example.net', 'sent',
     'relay7', '192.0.2.77', '250 2.0.0 Ok', NULL),
    ('2025-04-10 08:00:08+00', 14, 'relay2', 'postfix', 'F3', '2025-04-10 08:00:07+00', 'b@example.net', 'sent',
     'mbox1', '192.0.2.3', '250 2.0.0 Ok: queued as F4', 'F4'),
    ('2025-04-10 08:00:09+00', 15, 'mbox1', 'postfix', 'F4', '2025-04-10 08:00:08+00', 'b@example.net', 'sent',
     'local', NULL, 'delivered to mailbox', NULL);

DO $test$
DECLARE
    v_got  text;
    v_doc  jsonb;
BEGIN
    SELECT string_agg(format('%s %s/%s@%s %s %s %s', t.hop, (t.msg).host, (t.msg).queue_id,
                             to_char((t.msg).received_at AT TIME ZONE 'UTC', 'HH24:MI:SS'),
                             array_to_string(t.parents, ','), coalesce(t.link, '-'),
                             (SELECT string_agg(d.recipient || ':' || d.status, ',' ORDER BY d.at)
                              FROM unnest(t.deliveries) d)), E'\n' ORDER BY t.hop)
      INTO v_got
      FROM mailtrail.trace_core('f1@test', NULL, NULL, NULL, NULL, '2025-04-09', '2025-04-11', '10 minutes') t;
    IF v_got IS DISTINCT FROM concat_ws(E'\n',
            '1 relay1/F1@08:00:00  - b@example.net:sent',
            '2 relay2/F2@08:00:05 1 queued-as b@example.net:sent',
            '3 relay2/F3@08:00:07 2 reinjection b@example.net:sent',
            '4 mbox1/F4@08:00:08 3 queued-as b@example.net:sent',
            -- the copy taken at 08:04 is no queued-as child of F1 (not the
            -- closest F2); F1's sent delivery names its host (relay2)
            '5 relay2/F2@08:04:00 1 msgid+address b@example.net:sent') THEN
        RAISE EXCEPTION 'trace_core(f1): got%', E'\n' || v_got;
    END IF;

    v_doc := mailtrail.trace_json('f1@test', '2025-04-09', '2025-04-11');
    SELECT string_agg(format('%s:%s:%s', h->>'hop', h->>'queue_id', h->>'link'), ',') INTO v_got
      FROM jsonb_array_elements(v_doc->'hops') h;
    IF v_got IS DISTINCT FROM '1:F1:,2:F2:queued-as,3:F3:reinjection,4:F4:queued-as,5:F2:msgid+address' THEN
        RAISE EXCEPTION 'trace_json(f1): got %', v_got;
    END IF;
END
$test$;

ROLLBACK;
