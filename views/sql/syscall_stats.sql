-- syscall_stats: per run and host function: calls, errors, latency percentiles, bytes.
-- needs: calls
CREATE OR REPLACE VIEW syscall_stats AS
SELECT run_id,
       func,
       count(*)                                    AS calls,
       count(*) FILTER (WHERE errno <> 'ESUCCESS') AS errors,
       sum(duration_ns)                            AS total_ns,
       quantile_disc(duration_ns, 0.5)             AS p50_ns,
       quantile_disc(duration_ns, 0.99)            AS p99_ns,
       max(duration_ns)                            AS max_ns,
       sum(bytes_in)                               AS bytes_in,
       sum(bytes_out)                              AS bytes_out
FROM calls
GROUP BY run_id, func;
