-- message_key.sql: mailtrail.message_key(text) -> bigint.
--
-- Contract: FNV-1a 64 over the UTF-8 bytes of p_text, read as a signed
--   int64; equals MessageKey.hash(bytes:) in Swift (tested against Swift
--   values in sql/tests/message_key.sql and the Swift test suite).
-- Limits: the 64-bit multiply is done on two 32-bit halves in bigint
--   (PostgreSQL has no unsigned or wrapping arithmetic); fine for keys of a
--   few hundred bytes, not meant for hashing large texts.

CREATE OR REPLACE FUNCTION mailtrail.message_key(p_text text)
    RETURNS bigint
    LANGUAGE plpgsql
    IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    v_bytes  bytea  := convert_to(p_text, 'UTF8');
    v_hi     bigint := 3421674724;   -- 0xcbf29ce4, high half of the offset basis
    v_lo     bigint := 2216829733;   -- 0x84222325, low half of the offset basis
    v_nlo    bigint;
    v_i      int;
BEGIN
/*
 * FNV-1a 64: for each byte b: h := (h XOR b) * 0x100000001b3 mod 2^64.
 * With h = hi*2^32 + lo and the prime = 2^40 + 0x1b3:
 *   h*prime mod 2^64 = lo*0x1b3 + 2^32*(hi*0x1b3 + (lo << 8))   (mod 2^64)
 * Every intermediate stays below 2^42, so bigint never overflows.
 */
    FOR v_i IN 0 .. length(v_bytes) - 1 LOOP
        v_lo  := v_lo # get_byte(v_bytes, v_i);
        v_nlo := v_lo * 435;                                   -- 0x1b3
        v_hi  := (v_hi * 435 + ((v_lo << 8) & 4294967295) + (v_nlo >> 32)) & 4294967295;
        v_lo  := v_nlo & 4294967295;
    END LOOP;
    IF v_hi >= 2147483648 THEN
        RETURN (v_hi - 4294967296) * 4294967296 + v_lo;       -- negative as signed int64
    END IF;
    RETURN v_hi * 4294967296 + v_lo;
END
$$;

COMMENT ON FUNCTION mailtrail.message_key(text) IS
    'FNV-1a 64 of the UTF-8 bytes as signed bigint; equals MessageKey.hash in Swift. Key of a message: message_key(message_id), else message_key(host || ''/'' || queue_id).';
