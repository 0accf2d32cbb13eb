-- logs: stdout and stderr as lines: run, stream, line number, time, text.
-- needs: stdio
--
-- A line may span several writes and a write may hold several lines: the
-- bytes of each (run, stream) are cut at '\n' wherever they fall. A line is
-- stamped with the write that started it. Bytes that are not UTF-8 show as
-- \xNN escapes; `query logs` prints the exact bytes instead.
CREATE OR REPLACE VIEW logs AS
WITH chunks AS (
    SELECT run_id, stream, seq, time, offset_ns,
           coalesce(try(decode(data)), CAST(data AS VARCHAR)) AS text
    FROM stdio
    WHERE stream IN ('stdout', 'stderr')
),
counted AS (
    SELECT *,
           string_split(text, chr(10)) AS parts,
           coalesce(sum(len(text) - len(replace(text, chr(10), ''))) OVER (
               PARTITION BY run_id, stream ORDER BY seq
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS lines_before
    FROM chunks
),
pieces AS (
    SELECT run_id, stream, seq, time, offset_ns, lines_before, parts,
           unnest(generate_series(1, len(parts))) AS i
    FROM counted
),
lines AS (
    SELECT run_id, stream,
           lines_before + i AS line,
           min(seq) AS seq,
           arg_min(time, seq) AS time,
           arg_min(offset_ns, seq) AS offset_ns,
           string_agg(parts[i], '' ORDER BY seq) AS text
    FROM pieces
    GROUP BY ALL
)
SELECT run_id, stream, line, seq, time, offset_ns, text
FROM lines
-- the empty piece after a stream's last newline is not a line
QUALIFY NOT (text = '' AND line = max(line) OVER (PARTITION BY run_id, stream));
