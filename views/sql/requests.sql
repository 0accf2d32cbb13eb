-- requests: one row per HTTP exchange: run, connection, time, role, method, host, path, status, latency, body sizes, content type, truncated.
-- needs: http
--
-- Over the http table (HTTP/1.x rebuilt from socket bytes). time is when
-- the request's first byte moved; latency_ms runs from there to the
-- response's last byte. status is null when no response came (truncated).
CREATE OR REPLACE VIEW requests AS
SELECT run_id, conn, exchange, request_time AS time, role, method, host, path, status, reason,
       round(latency_ns / 1e6, 3)                                                     AS latency_ms,
       request_body_size, response_body_size,
       list_filter(response_headers, h -> lower(h.name) = 'content-type')[1].value    AS content_type,
       truncated, local_addr, peer_addr, request_seq, seq
FROM http;
