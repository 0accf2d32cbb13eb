package views

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/timelake/timelake/schemas"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// Kind says what a catalog entry is.
type Kind string

const (
	KindTable Kind = "table" // a lake table: its committed Parquet files
	KindView  Kind = "view"  // a derived view over the tables (sql/*.sql)
)

// Entry describes a table or derived view of a session.
type Entry struct {
	Name        string
	Kind        Kind
	Description string   // one line
	Needs       []string // the lake tables a derived view reads; the table itself for a table
	sql         string
}

var tableDescriptions = map[string]string{
	schemas.TableRuns:  "one row per run: module, args, env keys, host, start, end, status, exit code, records, segments",
	schemas.TableCalls: "one row per recorded host call: seq, time, offset, duration, function, fd, errno, result, bytes, path, args",
	schemas.TableStdio: "bytes the guest read from stdin or wrote to stdout and stderr, one row per transfer",
	schemas.TableFS:    "one row per file-system operation: op, fd, path, flags, errno, size, offset, new fd, file type",
	schemas.TableNet:   "one row per socket operation: op, fd, connection, protocol, local and peer address, direction, bytes and data, errno",
	schemas.TableHTTP:  "one row per HTTP/1.x exchange rebuilt from socket bytes: connection, times, method, host, path, status, headers, bodies, latency",
}

var catalog = mustCatalog()

// Catalog lists the lake tables, then the derived views, each with a
// one-line description, in a stable order.
func Catalog() []Entry { return slices.Clone(catalog) }

// viewEntries are the derived views in creation order.
func viewEntries() []Entry {
	var out []Entry
	for _, e := range catalog {
		if e.Kind == KindView {
			out = append(out, e)
		}
	}
	return out
}

func mustCatalog() []Entry {
	var out []Entry
	for _, t := range schemas.Tables {
		out = append(out, Entry{Name: t, Kind: KindTable, Description: tableDescriptions[t], Needs: []string{t}})
	}
	names, err := fs.Glob(sqlFiles, "sql/*.sql")
	if err != nil {
		panic(err)
	}
	slices.Sort(names)
	for _, n := range names {
		e, err := parseViewFile(n)
		if err != nil {
			panic(err)
		}
		out = append(out, e)
	}
	return out
}

// parseViewFile reads a view definition: a first comment line
// "-- name: description", a "-- needs: table ..." line, then the SQL.
func parseViewFile(name string) (Entry, error) {
	data, err := sqlFiles.ReadFile(name)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Name: strings.TrimSuffix(path.Base(name), ".sql"), Kind: KindView, sql: string(data)}
	sc := bufio.NewScanner(strings.NewReader(e.sql))
	for i := 0; sc.Scan() && i < 2; i++ {
		line := strings.TrimPrefix(sc.Text(), "-- ")
		switch {
		case i == 0:
			desc, ok := strings.CutPrefix(line, e.Name+": ")
			if !ok {
				return Entry{}, fmt.Errorf("%s: first line must be \"-- %s: description\"", name, e.Name)
			}
			e.Description = strings.TrimSuffix(desc, ".")
		case strings.HasPrefix(line, "needs: "):
			e.Needs = strings.Fields(strings.TrimPrefix(line, "needs: "))
		}
	}
	if len(e.Needs) == 0 {
		return Entry{}, fmt.Errorf("%s: second line must be \"-- needs: table ...\"", name)
	}
	for _, t := range e.Needs {
		if !slices.Contains(schemas.Tables, t) {
			return Entry{}, fmt.Errorf("%s: needs unknown table %q", name, t)
		}
	}
	return e, nil
}

// TablesFor returns the lake tables a query text may read: every table or
// derived view whose name appears in it as a word, resolved to tables. It
// over-approximates (a column named like a table counts) and never misses a
// table referenced by name.
func TablesFor(query string) []string {
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		words[w] = true
	}
	var out []string
	for _, e := range catalog {
		if words[e.Name] {
			for _, t := range e.Needs {
				if !slices.Contains(out, t) {
					out = append(out, t)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
