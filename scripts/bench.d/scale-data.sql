-- scale-data.sql: generated rows for the "queries at scale" part of scripts/bench.
--
-- What: fills the real schema (a database migrated by `mailtrail db migrate`)
--   with :days daily partitions ending at :last_day (inclusive), :per_day
--   e-mails per day, set-based (INSERT ... SELECT over generate_series), no
--   log parsing involved. Topology, like maillog-gen: mx1-2 (inbound MX),
--   smtp1-2 (submission/outbound relays), mbox1-3 (mailbox stores).
--   * k = g % 100 decides the kind of e-mail g: 0-54 inbound (mxN -> mboxN,
--     2 hops), 55-82 outbound (smtpN -> Internet), 83-94 internal
--     (smtpN -> mboxN, 2 hops), 95-99 local (pickup on mboxN, 1 hop).
--   * Message-ID 'bench.<g>@ext<g % 5000>.example.net' for inbound mail,
--     'bench.<g>@example.com' otherwise (scripts/bench recomputes it to pick
--     random ids); all hops of one e-mail share message_id and msg_key, and
--     hop 1's delivery names hop 2's queue ID in next_queue_id.
--   * 10 % of e-mails have 2-5 recipients; outbound: 93 % sent, 5 % deferred
--     once then sent 5 min later, 2 % bounced; internal hops always sent.
--   * rejections: one NOQUEUE RBL refusal per 4 e-mails on the MX hosts.
--   * internal mailboxes user0..user2999@example.com (senders of outbound and
--     internal mail, recipients of inbound and internal mail).
-- Contract: psql -v days=N -v per_day=M -v last_day=YYYY-MM-DD -f this file,
--   as a superuser, on an empty freshly migrated database. The fact tables'
--   indexes are dropped before the load and re-created afterwards from their
--   own catalog definitions (sorted builds instead of per-row maintenance),
--   so the schema ends exactly as migrated. ANALYZE at the end.
-- Limits: msg_key is hashtextextended(message_id, 0), not the product's
--   FNV-1a (mailtrail.message_key() in PL/pgSQL would dominate the load
--   time); only its equality across hops matters to the queries. Times are
--   deterministic (hash of g), not random(). No TLS/DKIM/spam columns
--   beyond inbound TLS on the MX hop.

\set ON_ERROR_STOP on
SET maintenance_work_mem = '512MB';
SET client_min_messages = warning;

SELECT count(*) AS partitions_created
  FROM mailtrail.ensure_day_partitions(:'last_day'::date - (:days - 1), :'last_day'::date + 1);

CREATE TEMP TABLE bench_indexes AS
SELECT indexname, replace(indexdef, ' ON ONLY ', ' ON ') AS indexdef
  FROM pg_indexes
 WHERE schemaname = 'mailtrail' AND tablename IN ('messages', 'deliveries', 'rejections');

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT indexname FROM bench_indexes LOOP
        EXECUTE format('DROP INDEX mailtrail.%I', r.indexname);
    END LOOP;
END $$;

CREATE TEMP VIEW bench_mail AS
SELECT g
     , g % 100 AS k
     , (:'last_day'::date - (:days - 1) + ((g - 1) / :per_day)::int)::timestamp AT TIME ZONE 'UTC'
       + make_interval(secs => (abs(hashint8extended(g, 1)) % 86000000) / 1000.0) AS t0
     , 'bench.' || g || '@' || CASE WHEN g % 100 < 55 THEN 'ext' || (g % 5000) || '.example.net'
                                    ELSE 'example.com' END AS mid
     , abs(hashint8extended(g, 3)) % 3000 AS usr
     , CASE WHEN g % 10 = 0 THEN 2 + abs(hashint8extended(g, 5)) % 4 ELSE 1 END AS nrcpt
     , abs(hashint8extended(g, 6)) % 100 AS fate
     , 1000 + abs(hashint8extended(g, 7)) % 2000000 AS size
  FROM generate_series(1, :days * :per_day) AS g;

CREATE TEMP VIEW bench_hop AS
SELECT m.*
     , h
     , CASE WHEN h = 2 OR m.k >= 95 THEN 'mbox' || (1 + m.usr % 3)
            WHEN m.k < 55 THEN 'mx' || (1 + m.g % 2)
            ELSE 'smtp' || (1 + m.g % 2) END AS host
     , upper(lpad(to_hex(m.g * 4 + h), 11, '0')) AS qid
     , m.t0 + make_interval(secs => (h - 1) * 1.5) AS t
     , (h = 1 AND (m.k < 55 OR (m.k >= 83 AND m.k < 95))) AS has_next
     , hashtextextended(m.mid, 0) AS mkey
  FROM bench_mail m
 CROSS JOIN LATERAL generate_series(1, CASE WHEN m.k < 55 OR (m.k >= 83 AND m.k < 95) THEN 2 ELSE 1 END) AS h;

INSERT INTO mailtrail.messages
      (received_at, msg_key, host, mta, instance, queue_id, message_id, sender, client_name,
       client_ip, client_port, size, nrcpt, proto, helo, tls_proto, tls_cipher, tls_bits,
       tls_trust, sasl_method, sasl_username)
SELECT t, mkey, host, 'postfix', 'postfix', qid, mid
     , CASE WHEN k < 55 THEN 's' || (g % 200000) || '@ext' || (g % 5000) || '.example.net'
            ELSE 'user' || usr || '@example.com' END
     , CASE WHEN h = 2 THEN CASE WHEN k < 55 THEN 'mx' || (1 + g % 2) ELSE 'smtp' || (1 + g % 2) END || '.example.com'
            WHEN k < 55 THEN 'mail.ext' || (g % 5000) || '.example.net'
            WHEN k < 95 THEN 'client' || (usr % 250) || '.example.com' END
     , CASE WHEN h = 2 THEN ('10.0.0.' || (10 + g % 2))::inet
            WHEN k < 55 THEN ('198.51.' || (g % 5000 / 256) || '.' || (g % 256))::inet
            WHEN k < 95 THEN ('10.1.' || (usr / 256) || '.' || (usr % 256))::inet END
     , CASE WHEN k < 95 OR h = 2 THEN 20000 + g % 40000 END
     , size, nrcpt
     , CASE WHEN k < 95 OR h = 2 THEN 'ESMTP' END
     , CASE WHEN k < 55 AND h = 1 THEN 'mail.ext' || (g % 5000) || '.example.net' END
     , CASE WHEN h = 1 AND k < 95 AND fate % 3 <> 0 THEN 'TLSv1.3' END
     , CASE WHEN h = 1 AND k < 95 AND fate % 3 <> 0 THEN 'TLS_AES_256_GCM_SHA384' END
     , CASE WHEN h = 1 AND k < 95 AND fate % 3 <> 0 THEN 256 END
     , CASE WHEN h = 1 AND k < 95 AND fate % 3 <> 0 THEN 'Anonymous' END
     , CASE WHEN h = 1 AND k >= 55 AND k < 95 THEN 'PLAIN' END
     , CASE WHEN h = 1 AND k >= 55 AND k < 95 THEN 'user' || usr END
  FROM bench_hop;

INSERT INTO mailtrail.deliveries
      (at, msg_key, host, instance, queue_id, received_at, recipient, status, dsn, transport,
       relay_name, relay_ip, relay_port, delay, delay_before_qmgr, delay_in_qmgr, delay_conn,
       delay_xmit, response, next_queue_id)
SELECT t + make_interval(secs => 0.8 + (a - 1) * 300)
     , mkey, host, 'postfix', qid, t
     , CASE WHEN k >= 55 AND k < 83 THEN 'r' || ((g + r) % 200000) || '@ext' || ((g + r) % 5000) || '.example.net'
            ELSE 'user' || ((usr + r - 1) % 3000) || '@example.com' END
     , st.status
     , CASE st.status WHEN 'sent' THEN '2.0.0' WHEN 'deferred' THEN '4.7.1' ELSE '5.1.1' END
     , CASE WHEN has_next OR (k >= 55 AND k < 83) THEN 'smtp' ELSE 'lmtp' END
     , CASE WHEN has_next THEN 'mbox' || (1 + usr % 3) || '.example.com'
            WHEN k >= 55 AND k < 83 THEN 'mx.ext' || ((g + r) % 5000) || '.example.net'
            ELSE 'dovecot' END
     , CASE WHEN has_next THEN ('10.0.1.' || (1 + usr % 3))::inet
            WHEN k >= 55 AND k < 83 THEN ('203.0.' || ((g + r) % 5000 / 256) || '.' || ((g + r) % 256))::inet END
     , CASE WHEN has_next OR (k >= 55 AND k < 83) THEN 25 END
     , 0.8 + (a - 1) * 300, 0.01, 0.01, 0.2, 0.58
     , CASE st.status
           WHEN 'sent' THEN CASE WHEN has_next THEN '250 2.0.0 Ok: queued as ' || upper(lpad(to_hex(g * 4 + 2), 11, '0'))
                                 ELSE '250 2.0.0 Ok' END
           WHEN 'deferred' THEN 'host mx.ext' || ((g + r) % 5000) || '.example.net said: 451 4.7.1 Greylisted, try again later (in reply to RCPT TO command)'
           ELSE 'host mx.ext' || ((g + r) % 5000) || '.example.net said: 550 5.1.1 User unknown (in reply to RCPT TO command)' END
     , CASE WHEN has_next AND st.status = 'sent' THEN upper(lpad(to_hex(g * 4 + 2), 11, '0')) END
  FROM bench_hop
 CROSS JOIN LATERAL generate_series(1, nrcpt) AS r
 CROSS JOIN LATERAL generate_series(1, CASE WHEN k >= 55 AND k < 83 AND fate BETWEEN 93 AND 97 THEN 2 ELSE 1 END) AS a
 CROSS JOIN LATERAL (SELECT CASE WHEN k >= 55 AND k < 83 AND fate BETWEEN 93 AND 97 AND a = 1 THEN 'deferred'
                                 WHEN k >= 55 AND k < 83 AND fate >= 98 THEN 'bounced'
                                 ELSE 'sent' END AS status) AS st;

INSERT INTO mailtrail.rejections
      (at, msg_key, host, instance, queue_id, program, action, stage, client_name, client_ip,
       client_port, helo, sender, recipient, proto, code, dsn, reason)
SELECT (:'last_day'::date - (:days - 1) + ((j - 1) / (:per_day / 4))::int)::timestamp AT TIME ZONE 'UTC'
       + make_interval(secs => (abs(hashint8extended(j, 11)) % 86000000) / 1000.0)
     , hashtextextended('rejection ' || j, 0), 'mx' || (1 + j % 2), 'postfix', NULL, 'smtpd', 'reject', 'RCPT'
     , 'unknown', ('192.0.' || (j % 50000 / 256 % 256) || '.' || (j % 256))::inet, 40000 + j % 20000
     , 'spam' || (j % 977) || '.example.biz', 'x' || (j % 90000) || '@spam' || (j % 977) || '.example.biz'
     , 'user' || (j % 3000) || '@example.com', 'ESMTP', '554', '5.7.1'
     , 'Service unavailable; Client host [192.0.' || (j % 50000 / 256 % 256) || '.' || (j % 256) || '] blocked using zen.spamhaus.org'
  FROM generate_series(1, :days * (:per_day / 4)) AS j;

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT indexdef FROM bench_indexes ORDER BY indexname LOOP
        EXECUTE r.indexdef;
    END LOOP;
END $$;

ANALYZE mailtrail.messages;
ANALYZE mailtrail.deliveries;
ANALYZE mailtrail.rejections;

SELECT (SELECT count(*) FROM mailtrail.messages) AS messages
     , (SELECT count(*) FROM mailtrail.deliveries) AS deliveries
     , (SELECT count(*) FROM mailtrail.rejections) AS rejections;
