-- connections: one row per connection: run, conn, protocol, role, local and peer addresses, opened and closed, bytes and calls each way, HTTP exchanges.
-- needs: net http
--
-- A connection is what net.conn names: a socket from its sock_open or
-- sock_accept (or one the run started with) to its close. Addresses are the
-- last the calls revealed (connect, bind, getlocaladdr, getpeeraddr, the
-- listener's); for UDP the peer is the connection's, not each datagram's.
-- bytes_out counts what the host accepted, bytes_in what the guest received;
-- would-block retries (EAGAIN) are not errors.
CREATE OR REPLACE VIEW connections AS
WITH ops AS (
    SELECT run_id, conn,
           any_value(protocol) FILTER (WHERE protocol <> '')                         AS protocol,
           any_value(family) FILTER (WHERE family <> '')                             AS family,
           CASE WHEN bool_or(op = 'accept' AND errno = 'ESUCCESS') THEN 'server'
                WHEN bool_or(op = 'listen' AND errno = 'ESUCCESS') THEN 'listener'
                WHEN bool_or(op = 'connect' AND errno IN ('ESUCCESS', 'EINPROGRESS')) THEN 'client'
                ELSE '' END                                                          AS role,
           any_value(fd) FILTER (WHERE op NOT IN ('accept', 'getaddrinfo'))          AS fd,
           arg_max(local_addr, seq) FILTER (WHERE local_addr IS NOT NULL)            AS local_addr,
           arg_max(peer_addr, seq) FILTER (WHERE peer_addr IS NOT NULL
                                           AND op NOT IN ('send_to', 'recv_from'))   AS peer_addr,
           min(time)                                                                 AS opened,
           max(time) FILTER (WHERE op = 'close' AND errno = 'ESUCCESS')              AS closed,
           min(seq)                                                                  AS first_seq,
           max(seq)                                                                  AS last_seq,
           coalesce(sum(size) FILTER (WHERE direction = 'out' AND errno = 'ESUCCESS'), 0) AS bytes_out,
           coalesce(sum(size) FILTER (WHERE direction = 'in' AND errno = 'ESUCCESS'), 0)  AS bytes_in,
           count(*) FILTER (WHERE direction = 'out' AND errno = 'ESUCCESS')           AS sends,
           count(*) FILTER (WHERE direction = 'in' AND errno = 'ESUCCESS')            AS recvs,
           count(*) FILTER (WHERE errno NOT IN ('ESUCCESS', 'EAGAIN', 'EINPROGRESS')) AS errors
    FROM net
    WHERE conn IS NOT NULL
    GROUP BY run_id, conn
),
-- Sockets the run started with (--listen) show as listeners by accepting.
accepts AS (
    SELECT run_id, fd, seq
    FROM net
    WHERE op = 'accept' AND errno = 'ESUCCESS'
),
-- The connection holding an accept's fd at that moment: the latest one
-- on that fd to start before it.
listeners AS (
    SELECT DISTINCT o.run_id, o.conn
    FROM ops o JOIN accepts a ON a.run_id = o.run_id AND a.fd = o.fd AND a.seq >= o.first_seq
    WHERE NOT EXISTS (SELECT 1 FROM ops p
                      WHERE p.run_id = o.run_id AND p.fd = o.fd AND p.first_seq > o.first_seq AND p.first_seq <= a.seq)
),
exchanges AS (
    SELECT run_id, conn, count(*) AS exchanges
    FROM http
    GROUP BY run_id, conn
)
SELECT o.run_id, o.conn, o.protocol, o.family,
       CASE WHEN o.role = '' AND l.conn IS NOT NULL THEN 'listener' ELSE o.role END AS role,
       o.local_addr, o.peer_addr, o.opened, o.closed,
       o.first_seq, o.last_seq, o.bytes_out, o.bytes_in, o.sends, o.recvs, o.errors,
       coalesce(e.exchanges, 0) AS exchanges
FROM ops o
LEFT JOIN exchanges e USING (run_id, conn)
LEFT JOIN listeners l ON l.run_id = o.run_id AND l.conn = o.conn;
