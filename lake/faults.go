package lake

import (
	"context"
	"fmt"
	"io"
)

// Op names a Store operation for fault injection.
type Op string

// The operations a fault hook sees.
const (
	OpGet      Op = "get"
	OpGetRange Op = "getrange"
	OpStat     Op = "stat"
	OpPut      Op = "put"
	OpList     Op = "list"
	OpDelete   Op = "delete"
)

// WithFaults wraps s so that hook runs before each operation with the
// operation and its key (the prefix for List). A non-nil error from hook
// aborts the operation, which then returns that error wrapped (errors.Is
// works) without touching s. It exists for tests of callers, such as
// exactly-once compaction under failing stores. URL and Close pass through.
func WithFaults(s Store, hook func(op Op, key string) error) Store {
	return &faultStore{s: s, hook: hook}
}

type faultStore struct {
	s    Store
	hook func(op Op, key string) error
}

func (f *faultStore) fault(op Op, key string) error {
	if err := f.hook(op, key); err != nil {
		return fmt.Errorf("lake: %s %s: injected fault: %w", op, key, err)
	}
	return nil
}

func (f *faultStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := f.fault(OpGet, key); err != nil {
		return nil, err
	}
	return f.s.Get(ctx, key)
}

func (f *faultStore) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := f.fault(OpGetRange, key); err != nil {
		return nil, err
	}
	return f.s.GetRange(ctx, key, off, n)
}

func (f *faultStore) Stat(ctx context.Context, key string) (Object, error) {
	if err := f.fault(OpStat, key); err != nil {
		return Object{}, err
	}
	return f.s.Stat(ctx, key)
}

func (f *faultStore) Put(ctx context.Context, key string, body io.ReadSeeker, opts PutOptions) (Object, error) {
	if err := f.fault(OpPut, key); err != nil {
		return Object{}, err
	}
	return f.s.Put(ctx, key, body, opts)
}

func (f *faultStore) List(ctx context.Context, prefix, startAfter string, limit int) ([]Object, error) {
	if err := f.fault(OpList, prefix); err != nil {
		return nil, err
	}
	return f.s.List(ctx, prefix, startAfter, limit)
}

func (f *faultStore) Delete(ctx context.Context, key string) error {
	if err := f.fault(OpDelete, key); err != nil {
		return err
	}
	return f.s.Delete(ctx, key)
}

func (f *faultStore) URL() string  { return f.s.URL() }
func (f *faultStore) Close() error { return f.s.Close() }
