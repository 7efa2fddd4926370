-- 0007_direct_copy: ingest COPYs straight into the day partitions.
--
-- What: the staging design (COPY into temporary staging tables, then
--   ingest_merge() copying the rows into the indexed partitions: every row
--   written twice) is replaced by COPY straight into the fact tables' day
--   partitions, bracketed by ingest_batch_begin() (checkpoint check,
--   partitions) and ingest_checkpoint() (checkpoint, counters) in the same
--   transaction (docs/architecture.md "Exactly-once ingest"). A restricted
--   ingest login gets INSERT (only) on each day partition, and the statement
--   trigger ingest_check_rows() on that partition refuses foreign hosts
--   (docs/security.md). The routines, triggers and grants live in
--   sql/functions (ingest_batch_begin, ingest_checkpoint, ingest_check_rows,
--   ingest_partition_access) and are (re-)applied after this migration, by
--   ensure_day_partitions() for new partitions and apply_security() for the
--   existing ones.
-- Contract: removes the two routines of the staging design, which a
--   `mailtrail migrate` would otherwise leave behind (function files are
--   re-applied, never dropped). No table changes.
-- Limits: an older binary (staging + ingest_merge) cannot load into a
--   database migrated to 0007; upgrade the loaders with the database.

DROP FUNCTION IF EXISTS mailtrail.ingest_merge(bigint, bigint, bigint, bigint, int);
DROP FUNCTION IF EXISTS mailtrail.create_staging_tables();

COMMENT ON TABLE mailtrail.agent_hosts IS 'Hosts each ingest login role may write rows for (mailtrail db grant-agent / revoke-agent); checked by the ingest_check_rows() trigger of every day partition and by the ingest_* and agent_* functions.';
