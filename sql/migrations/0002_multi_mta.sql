-- 0002_multi_mta: columns for facts that Sendmail, Exim and Sophos UTM log
-- (and that Postfix logs through its companions): subject, DKIM result,
-- spam verdict, local user on messages; router and verified-TLS flag on
-- deliveries; the 'split' origin kind (Sendmail envelope splitting).
--
-- Contract: additive only; existing rows get NULL in the new columns. The
-- CHECK on origin_kind is replaced on the partitioned parent, which
-- propagates to every partition.

ALTER TABLE mailtrail.messages
      ADD COLUMN subject       text
    , ADD COLUMN local_user    text
    , ADD COLUMN dkim_result   text
    , ADD COLUMN dkim_domain   text
    , ADD COLUMN spam_verdict  text
    , ADD COLUMN spam_score    real;

COMMENT ON COLUMN mailtrail.messages.subject IS 'Subject header when the MTA logs it (Exim T= on arrival, Sophos UTM SecureMail subject=); NULL otherwise.';
COMMENT ON COLUMN mailtrail.messages.local_user IS 'Local submitting user: Exim U=, Sendmail ctladdr/uid, Postfix pickup uid (as text).';
COMMENT ON COLUMN mailtrail.messages.dkim_result IS 'DKIM verification result of the best signature: pass, fail, neutral, temperror, permerror, none; NULL when not logged.';
COMMENT ON COLUMN mailtrail.messages.dkim_domain IS 'Signing domain (d=) of the signature dkim_result describes.';
COMMENT ON COLUMN mailtrail.messages.spam_verdict IS 'Spam scanner verdict as logged (e.g. ctasd Unknown/Bulk/Confirmed, SpamAssassin Yes/No, amavis CLEAN/SPAM, UTM email passed/quarantined).';
COMMENT ON COLUMN mailtrail.messages.spam_score IS 'Spam score when the scanner logs one.';

ALTER TABLE mailtrail.messages DROP CONSTRAINT messages_origin_kind_check;
ALTER TABLE mailtrail.messages ADD CONSTRAINT messages_origin_kind_check
    CHECK (origin_kind IN ('reinjection', 'bounce', 'requeue', 'forward', 'split'));
COMMENT ON COLUMN mailtrail.messages.origin_kind IS 'How origin_queue_id relates: reinjection (content filter or UTM scanner), bounce (DSN), requeue, forward, split (Sendmail envelope split).';

ALTER TABLE mailtrail.deliveries
      ADD COLUMN router     text
    , ADD COLUMN tls_trust  text;

COMMENT ON COLUMN mailtrail.deliveries.router IS 'Exim router (R= on a delivery line); NULL for other MTAs.';
COMMENT ON COLUMN mailtrail.deliveries.tls_trust IS 'Trust of the outbound TLS peer: Verified (Exim CV=yes, Sendmail verify=OK, Postfix Verified/Trusted), Untrusted, Anonymous.';
