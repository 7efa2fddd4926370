-- 0006_trace_edge: the row type of the trace's closure.
--
-- What: composite type mailtrail.trace_edge, one row of the closure that
--   mailtrail.trace_hops_core() (sql/functions/trace.sql) computes step by
--   step: the parent hop's key (NULL for a starting row), the child hop's
--   key, its message-id and the link that reached it. The function keeps
--   the closure in arrays of this type between its statements, so that
--   each statement can carry time bounds of its own (constants: the
--   planner then plans only the day partitions they cover).
-- Contract: additive only; no table changes. Field collations match the
--   columns they come from (identifiers COLLATE "C").
-- Limits: internal to the trace functions; not part of any output.

CREATE TYPE mailtrail.trace_edge AS (
      p_host         text COLLATE "C"
    , p_instance     text COLLATE "C"
    , p_queue_id     text COLLATE "C"
    , p_received_at  timestamptz
    , c_host         text COLLATE "C"
    , c_instance     text COLLATE "C"
    , c_queue_id     text COLLATE "C"
    , c_received_at  timestamptz
    , c_message_id   text COLLATE "C"
    , c_link         text
);
COMMENT ON TYPE mailtrail.trace_edge IS
    'Internal: one row of the trace closure (parent hop key, child hop key, child message-id, link); used by trace_hops_core().';
