-- file_access: per run and path: the operations done on it, how often, bytes moved, errors.
-- needs: fs
CREATE OR REPLACE VIEW file_access AS
SELECT run_id,
       path,
       list(DISTINCT op ORDER BY op)                              AS ops,
       count(*)                                                   AS calls,
       count(*) FILTER (WHERE op = 'open')                        AS opens,
       count(*) FILTER (WHERE op = 'read')                        AS reads,
       count(*) FILTER (WHERE op = 'write')                       AS writes,
       coalesce(sum(size) FILTER (WHERE op = 'read'  AND errno = 'ESUCCESS'), 0) AS bytes_read,
       coalesce(sum(size) FILTER (WHERE op = 'write' AND errno = 'ESUCCESS'), 0) AS bytes_written,
       count(*) FILTER (WHERE errno <> 'ESUCCESS')                AS errors,
       min(offset_ns)                                             AS first_offset_ns,
       max(offset_ns)                                             AS last_offset_ns
FROM fs
WHERE path IS NOT NULL
GROUP BY run_id, path;
