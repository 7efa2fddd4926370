-- partition_name.sql: mailtrail.partition_name(table, day) -> text.
--
-- Contract: the name of the day partition of a fact table: <table>_pYYYYMMDD
--   (unqualified; partitions live in schema mailtrail). Pure, no lookup:
--   the partition may or may not exist.
-- Limits: years outside 0001..9999 are not meaningful partition names.

CREATE OR REPLACE FUNCTION mailtrail.partition_name(p_table text, p_day date)
    RETURNS text
    LANGUAGE sql
    IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT p_table || '_p' || to_char(p_day, 'YYYYMMDD');
$$;

COMMENT ON FUNCTION mailtrail.partition_name(text, date) IS
    'Name of the day partition of a fact table: <table>_pYYYYMMDD (e.g. messages_p20240301).';
