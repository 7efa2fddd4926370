-- bi_rejections.sql: refusals for BI tools.
--
-- What: view mailtrail.bi_rejections — one row per refusal with `time` = at
--   and a normalised reason.
-- Contract: a plain projection of mailtrail.rejections (a filter on `time`
--   prunes day partitions). Columns are only added at the end.
-- Limits: none beyond the table's.

CREATE OR REPLACE VIEW mailtrail.bi_rejections AS
SELECT r.at AS "time"
     , r.host::text AS host
     , r.program
     , r.action
     , r.stage
     , r.client_name
     , r.client_ip
     , r.helo
     , r.sender
     , r.recipient
     , r.code
     , r.dsn
     , r.reason
     , mailtrail.report_reason(r.reason) AS reason_group
FROM mailtrail.rejections r;

COMMENT ON VIEW mailtrail.bi_rejections IS 'Refusals (NOQUEUE, milter, postscreen, header/body checks) for BI tools; time = at (UTC).';
COMMENT ON COLUMN mailtrail.bi_rejections."time" IS 'Time of the refusal, UTC.';
COMMENT ON COLUMN mailtrail.bi_rejections.host IS 'Syslog host name of the refusing server.';
COMMENT ON COLUMN mailtrail.bi_rejections.program IS 'Program that refused: smtpd, postscreen, cleanup, ...';
COMMENT ON COLUMN mailtrail.bi_rejections.action IS 'reject, reject_warning, milter-reject, discard, hold, ...';
COMMENT ON COLUMN mailtrail.bi_rejections.stage IS 'SMTP stage: CONNECT, RCPT, DATA, END-OF-MESSAGE, header, body, ...';
COMMENT ON COLUMN mailtrail.bi_rejections.client_name IS 'Reverse name of the SMTP client.';
COMMENT ON COLUMN mailtrail.bi_rejections.client_ip IS 'IP address of the SMTP client.';
COMMENT ON COLUMN mailtrail.bi_rejections.helo IS 'HELO/EHLO name.';
COMMENT ON COLUMN mailtrail.bi_rejections.sender IS 'Envelope sender.';
COMMENT ON COLUMN mailtrail.bi_rejections.recipient IS 'Envelope recipient.';
COMMENT ON COLUMN mailtrail.bi_rejections.code IS 'SMTP reply code, e.g. 554.';
COMMENT ON COLUMN mailtrail.bi_rejections.dsn IS 'Enhanced status code, e.g. 5.7.1.';
COMMENT ON COLUMN mailtrail.bi_rejections.reason IS 'Refusal text as logged.';
COMMENT ON COLUMN mailtrail.bi_rejections.reason_group IS 'Refusal text reduced for grouping (mailtrail.report_reason).';
