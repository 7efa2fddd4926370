-- ingest_partition_access.sql: mailtrail.ingest_partition_access(p_partition regclass).
--
-- Contract: opens one managed day partition of a fact table
--   (mailtrail.<messages|deliveries|rejections|unparsed_lines>_pYYYYMMDD,
--   attached to its parent) to the ingest role, which COPYs rows straight
--   into it: installs the statement trigger `ingest_check_rows` (AFTER
--   INSERT, REFERENCING NEW TABLE AS new_rows, FOR EACH STATEMENT, function
--   mailtrail.ingest_check_rows()) when missing, then — and only then —
--   grants INSERT (nothing else) on it to <roles_prefix>_ingest when that
--   role exists. Idempotent; returns true when the partition is open to
--   ingest afterwards, false when the ingest role does not exist yet.
--   Called by ensure_day_partitions() for every partition it creates and by
--   apply_security() for every existing one (after its REVOKEs).
-- Security: SECURITY DEFINER owned by the owner role (search_path pinned,
--   identifiers through regclass output and format(%I)). Refuses (42501)
--   anything that is not such a partition, so no grant lands elsewhere.
--   The trigger is created before the grant, so an INSERT grant never
--   exists without the check.
-- Limits: a partition attached by hand under another name gets neither
--   trigger nor grant (the ingest role cannot write it).

CREATE OR REPLACE FUNCTION mailtrail.ingest_partition_access(p_partition regclass)
    RETURNS boolean
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_name    text;
    v_parent  text;
    v_ingest  text;
BEGIN
    SELECT c.relname, pc.relname INTO v_name, v_parent
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid
      JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
     WHERE c.oid = p_partition
       AND c.relnamespace = 'mailtrail'::regnamespace
       AND pc.relnamespace = 'mailtrail'::regnamespace
       AND c.relkind = 'r'
       AND pc.relkind = 'p'
       AND pc.relname IN ('messages', 'deliveries', 'rejections', 'unparsed_lines')
       AND c.relname = pc.relname || '_p' || substr(c.relname, length(pc.relname) + 3)
       AND substr(c.relname, length(pc.relname) + 3) ~ '^[0-9]{8}$';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ingest_partition_access: % is not a day partition of a mailtrail fact table', p_partition
            USING ERRCODE = '42501';
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = p_partition AND t.tgname = 'ingest_check_rows') THEN
        EXECUTE format('CREATE TRIGGER ingest_check_rows AFTER INSERT ON mailtrail.%I '
                       'REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
                       'EXECUTE FUNCTION mailtrail.ingest_check_rows()', v_name);
    END IF;

    SELECT s.value || '_ingest' INTO v_ingest FROM mailtrail.settings s WHERE s.key = 'roles_prefix';
    IF v_ingest IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = v_ingest) THEN
        RETURN false;
    END IF;
    EXECUTE format('GRANT INSERT ON TABLE mailtrail.%I TO %I', v_name, v_ingest);
    RETURN true;
END
$$;

COMMENT ON FUNCTION mailtrail.ingest_partition_access(regclass) IS
    'Internal: give a fact day partition the ingest_check_rows trigger, then grant INSERT on it to <prefix>_ingest (which COPYs straight into day partitions).';
