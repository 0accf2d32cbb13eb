-- run_summary: one row per run with its headline figures: status, duration, calls, errors, bytes.
-- needs: runs calls stdio
CREATE OR REPLACE VIEW run_summary AS
WITH c AS (
    SELECT run_id,
           count(*)                                    AS calls,
           count(*) FILTER (WHERE errno <> 'ESUCCESS') AS errors,
           sum(duration_ns)                            AS host_ns,
           sum(bytes_in)                               AS bytes_in,
           sum(bytes_out)                              AS bytes_out,
           count(DISTINCT func)                        AS funcs
    FROM calls GROUP BY run_id
),
s AS (
    SELECT run_id,
           sum(size) FILTER (WHERE stream = 'stdin')  AS stdin_bytes,
           sum(size) FILTER (WHERE stream = 'stdout') AS stdout_bytes,
           sum(size) FILTER (WHERE stream = 'stderr') AS stderr_bytes
    FROM stdio GROUP BY run_id
)
SELECT r.run_id, r.module_name, r.status, r.exit_code, r.started_at, r.duration_ns,
       coalesce(c.calls, 0)        AS calls,
       coalesce(c.errors, 0)       AS errors,
       coalesce(c.funcs, 0)        AS funcs,
       coalesce(c.host_ns, 0)      AS host_ns,
       coalesce(c.bytes_in, 0)     AS bytes_in,
       coalesce(c.bytes_out, 0)    AS bytes_out,
       coalesce(s.stdin_bytes, 0)  AS stdin_bytes,
       coalesce(s.stdout_bytes, 0) AS stdout_bytes,
       coalesce(s.stderr_bytes, 0) AS stderr_bytes,
       r.segments, r.segment_bytes, r.lost_records
FROM runs r
LEFT JOIN c USING (run_id)
LEFT JOIN s USING (run_id);
