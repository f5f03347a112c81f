// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
)

var errTaken = errors.New("name taken")

// uniqueNames is a Hook that lets each payload "name:…" be appended once
// and indexes it under its name.
type uniqueNames struct{}

func (uniqueNames) Sequence(v View, index uint64, payload []byte, arg any) ([]KV, error) {
	name, ok := bytes.CutPrefix(payload, []byte("name:"))
	if !ok {
		return nil, nil
	}
	key := append([]byte("n/"), name...)
	if old, err := v.Get(key); err == nil {
		return nil, fmt.Errorf("%w at index %d", errTaken, binary.BigEndian.Uint64(old))
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if arg != nil && arg.(string) == "refuse" {
		return nil, errors.New("refused by argument")
	}
	return []KV{{Key: key, Value: binary.BigEndian.AppendUint64(nil, index)}}, nil
}

func TestHookOrdersAndIndexes(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, func(o *Options) { o.Hook = uniqueNames{} })
	ctx := t.Context()
	// Many concurrent appends of a few names: each name is appended exactly
	// once, whatever the batching.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string]int{}
	for w := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("name:%d", w%7)
			_, err := l.Append(ctx, []byte(name))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won[name]++
			case errors.Is(err, errTaken):
			default:
				t.Errorf("Append(%s) = %v", name, err)
			}
		}()
	}
	wg.Wait()
	for name, n := range won {
		if n != 1 {
			t.Errorf("%s appended %d times", name, n)
		}
	}
	if len(won) != 7 || l.Size() != 7 {
		t.Fatalf("%d names appended, size %d; want 7", len(won), l.Size())
	}
	// A refused entry leaves no trace and uses no index.
	if _, err := l.AppendWith(ctx, []byte("name:new"), "refuse"); err == nil || err.Error() != "refused by argument" {
		t.Fatalf("AppendWith(refuse) = %v", err)
	}
	r, err := l.Append(ctx, []byte("name:new"))
	if err != nil || r.Index != 7 {
		t.Fatalf("Append after a refusal = %v, index %v; want index 7", err, r)
	}
	v, err := l.IndexGet([]byte("n/new"))
	if err != nil || binary.BigEndian.Uint64(v) != 7 {
		t.Fatalf("IndexGet(n/new) = %x, %v", v, err)
	}
	var keys []string
	if err := l.IndexScan([]byte("n/"), func(k, _ []byte) (bool, error) {
		keys = append(keys, string(k))
		return true, nil
	}); err != nil || len(keys) != 8 {
		t.Fatalf("IndexScan = %q, %v; want 8 keys", keys, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// The index survives a restart with the log.
	l = openTest(t, dir, func(o *Options) { o.Hook = uniqueNames{} })
	defer l.Close()
	if _, err := l.Append(ctx, []byte("name:new")); !errors.Is(err, errTaken) {
		t.Fatalf("Append of a taken name after reopening = %v, want errTaken", err)
	}
}

// appendFromMany appends each distinct payloads from each of callers
// goroutines at once, and fails the test on any error.
func appendFromMany(t *testing.T, l *Log, callers, each int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := l.Append(t.Context(), payload(w*each+i)); err != nil {
					t.Errorf("Append = %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// counter is a Hook that keeps the number of entries in one index key,
// read and rewritten by every entry, and refuses an entry whose index
// disagrees with it: the view must show each entry what the ones before it
// wrote, whether they are in its batch, in a batch being committed, or
// committed (and remembered by the view).
type counter struct{}

func (counter) Sequence(v View, index uint64, payload []byte, arg any) ([]KV, error) {
	var n uint64
	if b, err := v.Get([]byte("count")); err == nil {
		n = binary.BigEndian.Uint64(b)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if n != index {
		return nil, fmt.Errorf("the view says %d entries before index %d", n, index)
	}
	return []KV{{Key: []byte("count"), Value: binary.BigEndian.AppendUint64(nil, n+1)}}, nil
}

func TestHookSeesItsLatestWrites(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, func(o *Options) { o.Hook = counter{} })
	ctx := t.Context()
	appendFromMany(t, l, 32, 40)
	if v, err := l.IndexGet([]byte("count")); err != nil || binary.BigEndian.Uint64(v) != 32*40 {
		t.Fatalf("count = %x, %v; want %d", v, err, 32*40)
	}
	l.Close()
	l = openTest(t, dir, func(o *Options) { o.Hook = counter{} })
	defer l.Close()
	if r, err := l.Append(ctx, payload(-1)); err != nil || r.Index != 32*40 {
		t.Fatalf("Append after reopening = %v, %v", r, err)
	}
}

// manyKeys is a Hook that writes many index keys per entry.
type manyKeys struct{}

func (manyKeys) Sequence(v View, index uint64, payload []byte, arg any) ([]KV, error) {
	kvs := make([]KV, 200)
	for i := range kvs {
		kvs[i] = KV{Key: binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte("m/"), index), uint64(i)), Value: payload[:min(len(payload), 100)]}
	}
	return kvs, nil
}

// TestHookManyKeysFitBatches appends from many callers with a hook that
// writes 200 keys per entry: batches must be cut to Badger's transaction
// limits instead of failing.
func TestHookManyKeysFitBatches(t *testing.T) {
	l := openTest(t, t.TempDir(), func(o *Options) { o.Hook = manyKeys{} })
	defer l.Close()
	appendFromMany(t, l, 256, 10)
	if l.Size() != 256*10 {
		t.Fatalf("size %d, want %d", l.Size(), 256*10)
	}
}

func TestUpdateIndexAndWaitSize(t *testing.T) {
	l := openTest(t, t.TempDir(), nil)
	defer l.Close()
	ctx := t.Context()
	got := make(chan uint64, 1)
	go func() {
		s, err := l.WaitSize(ctx, 3)
		if err != nil {
			t.Error(err)
		}
		got <- s
	}()
	for i := range 3 {
		if _, err := l.Append(ctx, payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	if s := <-got; s < 3 {
		t.Fatalf("WaitSize(3) = %d", s)
	}
	err := l.UpdateIndex(ctx, func(tx IndexTxn) error {
		if _, err := tx.Get([]byte("w")); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("Get(w) before = %v", err)
		}
		return tx.Set([]byte("w"), []byte{3})
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := l.IndexGet([]byte("w")); err != nil || v[0] != 3 {
		t.Fatalf("IndexGet(w) = %v, %v", v, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestIndexIterate(t *testing.T) {
	l := openTest(t, t.TempDir(), nil)
	defer l.Close()
	ctx := t.Context()
	l.UpdateIndex(ctx, func(tx IndexTxn) error {
		for _, k := range []string{"a/1", "a/2", "a/3", "b/1"} {
			tx.Set([]byte(k), []byte(k))
		}
		return nil
	})
	collect := func(r IndexRange) string {
		var out []string
		if err := l.IndexIterate(ctx, r, func(k, _ []byte) (bool, error) {
			out = append(out, string(k))
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		r    IndexRange
		want string
	}{
		{IndexRange{Prefix: []byte("a/")}, "[a/1 a/2 a/3]"},
		{IndexRange{Prefix: []byte("a/"), Start: []byte("a/2")}, "[a/2 a/3]"},
		{IndexRange{Prefix: []byte("a/"), Reverse: true}, "[a/3 a/2 a/1]"},
		{IndexRange{Prefix: []byte("a/"), Start: []byte("a/2"), Reverse: true}, "[a/2 a/1]"},
	} {
		if got := collect(tc.r); got != tc.want {
			t.Errorf("IndexIterate(%+v) = %s, want %s", tc.r, got, tc.want)
		}
	}
}
