-- bi_stuck_messages.sql: messages waiting for more than an hour, for BI tools.
--
-- What: view mailtrail.bi_stuck_messages over mailtrail.report_stuck()
--   as of now() with the default 60 minutes; `time` = received_at.
-- Contract: the rules of report_stuck. Columns only added at the end.
-- Limits: reads every transaction older than an hour (no time bound: the
--   question is "anything still open?"); filter on `time` to bound it.

CREATE OR REPLACE VIEW mailtrail.bi_stuck_messages AS
SELECT s.received_at AS "time", s.host, s.queue_id, s.message_id, s.sender, s.recipient, s.attempts,
       s.last_status, s.last_at, s.last_response, s.waiting_minutes
FROM mailtrail.report_stuck(NULL, NULL, NULL, 60) s;

COMMENT ON VIEW mailtrail.bi_stuck_messages IS 'Transactions received more than 60 minutes ago with no final outcome on any host (see mailtrail.report_stuck); time = received_at (UTC).';
COMMENT ON COLUMN mailtrail.bi_stuck_messages."time" IS 'When the host received the message, UTC.';
COMMENT ON COLUMN mailtrail.bi_stuck_messages.host IS 'Host holding the message.';
COMMENT ON COLUMN mailtrail.bi_stuck_messages.queue_id IS 'Queue ID on that host.';
COMMENT ON COLUMN mailtrail.bi_stuck_messages.message_id IS 'Message-ID without angle brackets.';
COMMENT ON COLUMN mailtrail.bi_stuck_messages.sender IS 'Envelope sender.';
COMMENT ON COLUMN mailtrail.bi_stuck_messages.recipient IS 'Recipient still waiting; NULL when the transaction logged no delivery attempt at all.';
COMMENT ON COLUMN mailtrail.bi_stuck_messages.attempts IS 'Delivery attempts so far for this recipient.';
COMMENT ON COLUMN mailtrail.bi_stuck_messages.last_status IS 'Status of the last attempt (deferred, softbounce) or NULL.';
COMMENT ON COLUMN mailtrail.bi_stuck_messages.last_at IS 'Time of the last attempt.';
COMMENT ON COLUMN mailtrail.bi_stuck_messages.last_response IS 'Response of the last attempt.';
COMMENT ON COLUMN mailtrail.bi_stuck_messages.waiting_minutes IS 'Minutes since the host received the message.';
