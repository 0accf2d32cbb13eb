package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/timelake/timelake/sandbox"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// mountFlag collects --dir HOST[:GUEST][:ro].
type mountFlag []sandbox.Mount

func (m *mountFlag) String() string { return fmt.Sprint(len(*m), " mounts") }
func (m *mountFlag) Set(v string) error {
	mount, err := sandbox.ParseMount(v)
	if err != nil {
		return err
	}
	*m = append(*m, mount)
	return nil
}

// envFlag collects --env K=V and --env K (copy one host variable).
type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, ",") }
func (e *envFlag) Set(v string) error {
	if v == "" || strings.HasPrefix(v, "=") {
		return fmt.Errorf("want K=V or K, got %q", v)
	}
	if !strings.Contains(v, "=") {
		value, ok := os.LookupEnv(v)
		if !ok {
			return nil // an unset host variable stays unset in the guest
		}
		v += "=" + value
	}
	*e = append(*e, v)
	return nil
}

const wasmPageSize = 65536

// memoryFlag is --max-memory: bytes with an optional unit (K, KiB, M, MiB,
// G, GiB) or a page count with the suffix "p" or "pages". Stored in pages.
type memoryFlag struct{ pages uint32 }

func (m *memoryFlag) String() string {
	if m.pages == 0 {
		return ""
	}
	return fmt.Sprintf("%dpages", m.pages)
}

func (m *memoryFlag) Set(v string) error {
	pages, err := parseMemory(v)
	if err != nil {
		return err
	}
	m.pages = pages
	return nil
}

func parseMemory(v string) (uint32, error) {
	s := strings.TrimSpace(strings.ToLower(v))
	units := []struct {
		suffix string
		mult   uint64
		pages  bool
	}{
		{"pages", 1, true}, {"p", 1, true},
		{"kib", 1 << 10, false}, {"mib", 1 << 20, false}, {"gib", 1 << 30, false},
		{"kb", 1000, false}, {"mb", 1000 * 1000, false}, {"gb", 1000 * 1000 * 1000, false},
		{"k", 1 << 10, false}, {"m", 1 << 20, false}, {"g", 1 << 30, false}, {"b", 1, false},
	}
	mult, isPages := uint64(1), false
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult, isPages = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult, u.pages
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid memory size %q (want bytes like 64MiB or pages like 1024p)", v)
	}
	pages := n
	if !isPages {
		pages = n * mult / wasmPageSize
		if pages == 0 {
			return 0, fmt.Errorf("memory size %q is below one wasm page (64KiB)", v)
		}
	}
	if pages > 65536 {
		return 0, fmt.Errorf("memory size %q exceeds the 4GiB wasm32 limit", v)
	}
	return uint32(pages), nil
}
