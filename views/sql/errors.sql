-- errors: failed host calls, with the errno name, its number and a short meaning.
-- needs: calls
CREATE OR REPLACE VIEW errors AS
SELECT c.run_id, c.seq, c.time, c.offset_ns, c.func, c.fd, c.path,
       c.errno, e.code AS errno_code, e.message AS errno_message,
       c.duration_ns, c.args
FROM calls c
LEFT JOIN errnos e ON e.name = c.errno
WHERE c.errno <> 'ESUCCESS';
