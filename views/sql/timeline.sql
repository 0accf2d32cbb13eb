-- timeline: every host call of a run in order, with its offset and the guest time since the previous call.
-- needs: calls
CREATE OR REPLACE VIEW timeline AS
SELECT run_id, seq, time, offset_ns,
       offset_ns - coalesce(lag(offset_ns + duration_ns) OVER (PARTITION BY run_id ORDER BY seq), 0) AS guest_ns,
       duration_ns, func, fd, errno, result, bytes_in, bytes_out, path, args
FROM calls;
