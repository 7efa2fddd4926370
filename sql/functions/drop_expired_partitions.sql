-- drop_expired_partitions.sql: mailtrail.drop_expired_partitions(p_retention_days).
--
-- Contract: keeps the UTC days [today - p_retention_days, ...]; every day
--   partition (<table>_pYYYYMMDD of a fact table) whose whole day lies
--   before that is DETACHed and DROPped (never DELETE: no dead tuples, no
--   vacuum debt). Returns one row per dropped partition. p_retention_days
--   <= 0 or NULL drops nothing (keep forever).
--   Takes the exclusive 'mailtrail retention' advisory lock;
--   ingest_batch_begin holds it shared until the batch commits, so a drop
--   never races a batch that is loading into the same days.
-- Limits: only partitions named by partition_name() are managed; tables
--   attached by hand under another name are left alone. Plain DETACH (not
--   CONCURRENTLY, which cannot run inside a function) briefly locks the
--   parent.
-- Security: SECURITY DEFINER owned by the owner role (search_path pinned to
--   pg_catalog, pg_temp; identifiers in dynamic SQL via format(%I)), so the
--   maintenance role needs only EXECUTE.

CREATE OR REPLACE FUNCTION mailtrail.drop_expired_partitions(p_retention_days int)
    RETURNS TABLE (parent_table text, partition_table text, day date)
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_cutoff  date;
    v_rec     record;
BEGIN
/*
 * Drop whole day partitions older than the retention window.
 * "today" is the current UTC date of the server's clock.
 */
    IF p_retention_days IS NULL OR p_retention_days <= 0 THEN
        RETURN;
    END IF;
    v_cutoff := (now() AT TIME ZONE 'UTC')::date - p_retention_days;

    PERFORM pg_advisory_xact_lock(hashtext('mailtrail retention'));

    FOR v_rec IN
        SELECT pn.nspname                         AS parent_schema
             , p.relname::text                    AS parent_name
             , cn.nspname                         AS child_schema
             , c.relname::text                    AS child_name
             , to_date(right(c.relname, 8), 'YYYYMMDD') AS child_day
          FROM pg_catalog.pg_inherits i
          JOIN pg_catalog.pg_class c      ON c.oid = i.inhrelid
          JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
          JOIN pg_catalog.pg_class p      ON p.oid = i.inhparent
          JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
         WHERE pn.nspname = 'mailtrail'
           AND p.relname IN ('messages', 'deliveries', 'rejections', 'unparsed_lines')
           AND c.relname ~ ('^' || p.relname || '_p[0-9]{8}$')
         ORDER BY child_day, parent_name
    LOOP
        CONTINUE WHEN v_rec.child_day >= v_cutoff;
        RAISE DEBUG 'drop_expired_partitions: dropping %.%', v_rec.child_schema, v_rec.child_name;
        EXECUTE format('ALTER TABLE %I.%I DETACH PARTITION %I.%I'
            , v_rec.parent_schema, v_rec.parent_name, v_rec.child_schema, v_rec.child_name);
        EXECUTE format('DROP TABLE %I.%I', v_rec.child_schema, v_rec.child_name);
        parent_table    := v_rec.parent_name;
        partition_table := v_rec.child_name;
        day             := v_rec.child_day;
        RETURN NEXT;
    END LOOP;
END
$$;

COMMENT ON FUNCTION mailtrail.drop_expired_partitions(int) IS
    'DETACH and DROP the fact day partitions entirely older than today (UTC) - p_retention_days; never DELETEs rows. <= 0 keeps all.';
