-- fact_messages.sql: the reader's window on the fact table mailtrail.messages.
--
-- What: view mailtrail.fact_messages, every row and column of
--   mailtrail.messages (transactions: one per queue ID and host).
--   The reader functions (search, report_*, trace*) read it instead of the
--   table; the reader role may SELECT it but has no privilege on the table
--   (docs/security.md).
-- Contract: a plain view (neither security_barrier nor security_invoker):
--   it reads the table with its owner's rights (P_owner), and the planner
--   pulls it up into the calling query, so a condition on received_at prunes
--   day partitions exactly as on the table, and the reader functions stay
--   inlinable SECURITY INVOKER SQL. Same columns as the table, in the same
--   order and of the same types (`SELECT *` is expanded again each time
--   migrate re-applies this file, so a column a migration appends shows up
--   here too); the column comments are copied from the table.
-- Limits: a migration that drops, renames or retypes a column of
--   mailtrail.messages must `DROP VIEW mailtrail.fact_messages` first (migrate
--   re-creates the view after the migrations); adding a column needs nothing.

CREATE OR REPLACE VIEW mailtrail.fact_messages AS
SELECT m.*
FROM mailtrail.messages m;

COMMENT ON VIEW mailtrail.fact_messages IS
    'Every row of the fact table mailtrail.messages, for the reader role and the reader functions (which read it with the owner''s rights; a filter on received_at prunes day partitions). Columns as in the table.';

DO $$
DECLARE
    v_col record;
BEGIN
    FOR v_col IN
        SELECT a.attname, pg_catalog.col_description(a.attrelid, a.attnum) AS note
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = 'mailtrail.messages'::regclass AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        EXECUTE format('COMMENT ON COLUMN mailtrail.fact_messages.%I IS %L', v_col.attname,
                       coalesce(v_col.note, 'Column ' || v_col.attname || ' of mailtrail.messages.'));
    END LOOP;
END
$$;
