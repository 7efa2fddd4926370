-- message_key.sql (test): mailtrail.message_key() against known FNV-1a 64 values.
--
-- Contract: runs inside BEGIN ... ROLLBACK, leaves nothing behind, raises an
--   exception on the first wrong value. Expected values were computed with
--   the Swift MessageKey.hash (and cross-checked with an independent
--   FNV-1a implementation); the Swift suite checks 20 more strings.

BEGIN;

DO $$
DECLARE
    v_case  record;
    v_got   bigint;
BEGIN
    FOR v_case IN
        SELECT * FROM (VALUES
              (''::text,                            -3750763034362895579::bigint)
            , ('a',                                 -5808556873153909620)
            , ('foobar',                            -8821353812377114648)
            , ('20240301.ABC123@mail.example.com',  31376089648601413)
            , ('mx1/4Xyz9Q2ZlVz7',                  5436121970754399048)
            , ('müller@bücher.de',                  -1288465003695881382)
            , ('日本語',                             -1252314375984451705)
            , ('😀',                                -72331129952009592)
        ) AS t (input, expected)
    LOOP
        v_got := mailtrail.message_key(v_case.input);
        IF v_got IS DISTINCT FROM v_case.expected THEN
            RAISE EXCEPTION 'message_key(%): expected %, got %', quote_literal(v_case.input), v_case.expected, v_got;
        END IF;
    END LOOP;

    IF mailtrail.message_key(NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'message_key(NULL) must be NULL';
    END IF;
END
$$;

ROLLBACK;
