package main

import (
	"bufio"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
)

// result is a query result held in memory for printing.
type result struct {
	columns []string
	types   []string // DuckDB type names
	rows    [][]any
}

func readResult(rows *sql.Rows) (*result, error) {
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	r := &result{}
	for _, c := range cols {
		r.columns = append(r.columns, c.Name())
		r.types = append(r.types, c.DatabaseTypeName())
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r.rows = append(r.rows, vals)
	}
	return r, rows.Err()
}

// write prints r in format: table, csv, json (an array of objects) or
// jsonl (one object per line).
func (r *result) write(w io.Writer, format string) error {
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "table":
		r.writeTable(bw)
	case "csv":
		err = r.writeCSV(bw)
	case "json", "jsonl":
		err = r.writeJSON(bw, format == "jsonl")
	default:
		err = fmt.Errorf("unknown format %q", format)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func (r *result) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.columns); err != nil {
		return err
	}
	rec := make([]string, len(r.columns))
	for _, row := range r.rows {
		for i, v := range row {
			rec[i] = text(v, r.types[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (r *result) writeJSON(w io.Writer, lines bool) error {
	if !lines {
		io.WriteString(w, "[")
	}
	for n, row := range r.rows {
		var b strings.Builder
		b.WriteByte('{')
		for i, v := range row {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(r.columns[i])
			b.Write(k)
			b.WriteByte(':')
			val, err := json.Marshal(jsonValue(v, r.types[i]))
			if err != nil {
				return fmt.Errorf("column %s: %w", r.columns[i], err)
			}
			b.Write(val)
		}
		b.WriteByte('}')
		switch {
		case lines:
			b.WriteByte('\n')
		case n < len(r.rows)-1:
			b.WriteString(",\n")
		}
		io.WriteString(w, b.String())
	}
	if !lines {
		io.WriteString(w, "]\n")
	}
	return nil
}

func (r *result) writeTable(w io.Writer) {
	cells := make([][]string, len(r.rows))
	width := make([]int, len(r.columns))
	for i, c := range r.columns {
		width[i] = utf8.RuneCountInString(c)
	}
	for n, row := range r.rows {
		cells[n] = make([]string, len(row))
		for i, v := range row {
			s := printable(text(v, r.types[i]))
			if v == nil {
				s = "NULL"
			}
			cells[n][i] = s
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	line := func(vals []string, header bool) {
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(v))
			last := i == len(vals)-1
			switch {
			case !header && numeric(r.types[i]):
				b.WriteString(pad + v)
			case last:
				b.WriteString(v)
			default:
				b.WriteString(v + pad)
			}
		}
		b.WriteByte('\n')
		io.WriteString(w, b.String())
	}
	line(r.columns, true)
	rule := make([]string, len(width))
	for i, n := range width {
		rule[i] = strings.Repeat("-", n)
	}
	line(rule, true)
	for _, row := range cells {
		line(row, false)
	}
	fmt.Fprintf(w, "(%d %s)\n", len(r.rows), plural(len(r.rows), "row", "rows"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func numeric(t string) bool {
	switch {
	case strings.HasPrefix(t, "DECIMAL"):
		return true
	}
	switch t {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE":
		return true
	}
	return false
}

// printable escapes control characters so a cell stays on one line.
func printable(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// text renders a value for tables and CSV; NULL is empty.
func text(v any, typ string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return fmt.Sprintf("%q", x)
	case time.Time:
		return timeText(x, typ)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case *big.Int:
		return x.String()
	case duckdb.Decimal:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = text(e, "")
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + text(x[k], "")
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func timeText(t time.Time, typ string) string {
	t = t.UTC()
	if typ == "DATE" {
		return t.Format("2006-01-02")
	}
	if typ == "TIME" {
		return t.Format("15:04:05.999999")
	}
	return t.Format("2006-01-02 15:04:05.000000")
}

// jsonValue converts a value to what encoding/json renders faithfully.
func jsonValue(v any, typ string) any {
	switch x := v.(type) {
	case nil, string, bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		if typ == "DATE" {
			return x.UTC().Format("2006-01-02")
		}
		return x.UTC().Format(time.RFC3339Nano)
	case *big.Int:
		return json.Number(x.String())
	case duckdb.Decimal:
		return json.Number(x.String())
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e, "")
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e, "")
		}
		return out
	}
	return fmt.Sprint(v)
}
