// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/mod/sumdb/note"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

func TestOptionsValidation(t *testing.T) {
	s, v := testKeys()
	skey, vkey, _ := note.GenerateKey(nil, "other.example/log")
	os, _ := note.NewSigner(skey)
	ov, _ := note.NewVerifier(vkey)
	for _, tc := range []struct {
		name  string
		mod   func(*Options)
		field string
	}{
		{"no origin", func(o *Options) { o.Origin = "" }, "Origin"},
		{"no signer", func(o *Options) { o.Signer = nil }, "Signer"},
		{"no verifier", func(o *Options) { o.Verifier = nil }, "Verifier"},
		{"signer named otherwise", func(o *Options) { o.Signer, o.Verifier = os, ov }, "Signer"},
		{"verifier of another key", func(o *Options) { o.Verifier = ov }, "Verifier"},
		{"negative batch", func(o *Options) { o.MaxBatchSize = -1 }, "MaxBatchSize"},
		{"pending bytes below payload", func(o *Options) { o.MaxPendingBytes = 10 }, "MaxPendingBytes"},
		{"batch bytes below payload", func(o *Options) { o.MaxBatchBytes = 10 }, "MaxBatchBytes"},
		{"memtable too small for batches", func(o *Options) { o.MemTableSize = 1 << 20 }, "MemTableSize"},
		{"negative queue floor", func(o *Options) { o.MinQueue = -1 }, "MinQueue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Origin: testOrigin, Signer: s, Verifier: v}
			tc.mod(&o)
			_, err := Open(context.Background(), t.TempDir(), o)
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Open(%s) = %v, want ErrInvalidOptions naming %s", tc.name, err, tc.field)
			}
		})
	}
}

func TestOpenWithAnotherKeyRefused(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, nil)
	if _, err := l.Append(t.Context(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	skey, vkey, _ := note.GenerateKey(nil, testOrigin)
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	o := testOptions()
	o.Signer, o.Verifier = s, v
	if _, err := Open(context.Background(), dir, o); !errors.Is(err, ErrCorrupt) || !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("Open with another key = %v, want ErrCorrupt and ErrBadSignature", err)
	}
}

// TestOpenAfterCrashLeftovers checks that Open starts on a store holding
// the empty files that a process killed while Badger starts a new file
// leaves (the crash test found the memtable's), and removes them; and that
// an empty value-log file that is not the newest, which no crash leaves,
// is still refused.
func TestOpenAfterCrashLeftovers(t *testing.T) {
	newestVlog := func(t *testing.T, dir string) int {
		vlogs, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
		newest := -1
		for _, f := range vlogs {
			var id int
			if _, err := fmt.Sscanf(filepath.Base(f), "%d.vlog", &id); err == nil {
				newest = max(newest, id)
			}
		}
		if newest < 0 {
			t.Fatalf("no value-log file in %s", dir)
		}
		return newest
	}
	for _, tc := range []struct {
		name  string
		empty func(t *testing.T, dir string) string // the file to leave empty
		opens bool
	}{
		{"memtable", func(*testing.T, string) string { return "99999.mem" }, true},
		{"next value log", func(t *testing.T, dir string) string {
			return fmt.Sprintf("%06d.vlog", newestVlog(t, dir)+1)
		}, true},
		{"older value log", func(t *testing.T, dir string) string {
			// The newest stays; an older one is emptied.
			newest := newestVlog(t, dir)
			next := filepath.Join(dir, fmt.Sprintf("%06d.vlog", newest+1))
			if err := os.Rename(filepath.Join(dir, fmt.Sprintf("%06d.vlog", newest)), next); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%06d.vlog", newest)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTest(t, dir, nil)
			r, err := l.Append(t.Context(), []byte("before the crash"))
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			empty := filepath.Join(dir, tc.empty(t, dir))
			if err := os.WriteFile(empty, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			l, err = Open(t.Context(), dir, testOptions())
			if !tc.opens {
				if err == nil {
					l.Close()
					t.Fatal("Open succeeded on a store with an empty older value-log file")
				}
				if !errors.Is(err, ErrStorage) {
					t.Errorf("Open = %v, want ErrStorage", err)
				}
				if _, err := os.Stat(empty); err != nil {
					t.Errorf("the older value-log file was removed: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			defer l.Close()
			if e, err := l.Entry(t.Context(), r.Index); err != nil || string(e.Payload) != "before the crash" {
				t.Fatalf("Entry(%d) = %q, %v after reopening", r.Index, e.Payload, err)
			}
			// Badger starts a new value-log file at every Open, which may
			// take the removed one's name.
			if fi, err := os.Stat(empty); err == nil && fi.Size() == 0 {
				t.Errorf("%s is still empty", empty)
			}
			if _, err := l.Append(t.Context(), []byte("after the crash")); err != nil {
				t.Errorf("Append after reopening: %v", err)
			}
		})
	}
}

// openStalling opens a test log whose sequencer stalls, in its clock, on
// the first batch it takes, until release is closed; stalled is closed
// when it does.
func openStalling(t *testing.T, mod func(*Options)) (l *Log, stalled <-chan struct{}, release chan<- struct{}) {
	t.Helper()
	rel := make(chan struct{})
	st := make(chan struct{})
	var once sync.Once
	l = openTest(t, t.TempDir(), func(o *Options) {
		mod(o)
		o.Now = func() time.Time {
			once.Do(func() { close(st) })
			<-rel
			return time.Now()
		}
	})
	return l, st, rel
}

// TestPushback stalls the sequencer through its clock, fills what the log
// lets wait (the queue's capacity, or MinQueue while no commit rate is
// known) and checks that the next append is refused at once with
// ErrPushback, then that everything admitted is committed when the
// sequencer resumes.
func TestPushback(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(*Options)
		fill int // appends that wait besides the one the sequencer holds
	}{
		{"full queue", func(o *Options) { o.MaxPending = 4 }, 4},
		{"MinQueue appends waiting", func(o *Options) { o.MinQueue = 3 }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, stalled, release := openStalling(t, tc.opts)
			defer l.Close()
			ctx := t.Context()
			var wg sync.WaitGroup
			errs := make(chan error, 10)
			start := func() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := l.Append(ctx, []byte("x"))
					errs <- err
				}()
			}
			start() // taken by the sequencer, which stalls in Now
			<-stalled
			for range tc.fill {
				start()
			}
			deadline := time.Now().Add(5 * time.Second)
			for l.pending.Load() < int64(1+tc.fill) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if _, err := l.Append(ctx, []byte("y")); !errors.Is(err, ErrPushback) {
				t.Fatalf("Append with %d waiting = %v, want ErrPushback", 1+tc.fill, err)
			}
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("admitted append failed: %v", err)
				}
			}
			if got, want := l.Size(), uint64(1+tc.fill); got != want {
				t.Errorf("Size() = %d, want %d", got, want)
			}
		})
	}
}

// TestSubmitWait: SubmitWait is not held to Admit's bound, and while the
// queue is full it waits (or gives up with its context) instead of
// failing, and submits once an answered append leaves room.
func TestSubmitWait(t *testing.T) {
	l, stalled, release := openStalling(t, func(o *Options) {
		o.MinQueue = 1
		o.MaxPending = 1
	})
	defer l.Close()
	ctx := t.Context()
	first, err := l.Submit([]byte("a"), nil) // taken by the sequencer, which stalls
	if err != nil {
		t.Fatal(err)
	}
	<-stalled
	if _, err := l.Submit([]byte("b"), nil); !errors.Is(err, ErrPushback) {
		t.Fatalf("Submit with MinQueue appends waiting = %v, want ErrPushback", err)
	}
	second, err := l.SubmitWait(ctx, []byte("b"), nil) // the queue has room
	if err != nil {
		t.Fatalf("SubmitWait with MinQueue appends waiting and room in the queue = %v", err)
	}
	if _, err := l.Submit([]byte("c"), nil); !errors.Is(err, ErrPushback) {
		t.Fatalf("Submit on a full queue = %v, want ErrPushback", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.SubmitWait(short, []byte("c"), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SubmitWait while full, context ending = %v, want DeadlineExceeded", err)
	}
	type result struct {
		p   *Pending
		err error
	}
	third := make(chan result, 1)
	go func() {
		p, err := l.SubmitWait(ctx, []byte("c"), nil)
		third <- result{p, err}
	}()
	select {
	case r := <-third:
		t.Fatalf("SubmitWait returned while the log was full: %v", r.err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	r := <-third
	if r.err != nil {
		t.Fatalf("SubmitWait after room was made = %v", r.err)
	}
	for i, p := range []*Pending{first, second, r.p} {
		rc, err := p.Wait(ctx)
		if err != nil || rc.Index != uint64(i) {
			t.Fatalf("append %d: receipt %v, %v; want index %d", i, rc, err, i)
		}
	}
	if n := l.roomWaiters.Load(); n != 0 {
		t.Errorf("%d waiters still registered", n)
	}
}

func TestPendingBytesBound(t *testing.T) {
	l, stalled, release := openStalling(t, func(o *Options) {
		o.MaxPayloadSize = 1000
		o.MaxPendingBytes = 2500
		o.MaxBatchBytes = 4096
	})
	defer l.Close()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); l.Append(context.Background(), make([]byte, 1000)) }()
	}
	<-stalled
	deadline := time.Now().Add(5 * time.Second)
	for l.pendingBytes.Load() < 2000 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if _, err := l.Append(t.Context(), make([]byte, 1000)); !errors.Is(err, ErrPushback) {
		t.Errorf("Append over the byte bound = %v, want ErrPushback", err)
	}
	close(release)
	wg.Wait()
}

func TestCloseFailsQueuedAndLater(t *testing.T) {
	l := openTest(t, t.TempDir(), nil)
	if _, err := l.Append(t.Context(), []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(t.Context(), []byte("b")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if _, err := l.Entry(t.Context(), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Entry after Close = %v, want ErrClosed", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestCloseUnderLoad(t *testing.T) {
	l := openTest(t, t.TempDir(), nil)
	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok []*verify.Receipt
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				r, err := l.Append(ctx, payload(w*100000+i))
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append = %v", err)
					return
				}
				mu.Lock()
				ok = append(ok, r)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	// Everything acknowledged before Close is there after reopening.
	l2 := openTest(t, l.db.Opts().Dir, nil)
	defer l2.Close()
	for _, r := range ok {
		e, err := l2.Entry(ctx, r.Index)
		if err != nil || e.LeafHash != r.LeafHash {
			t.Fatalf("acknowledged entry %d: %v (leaf %v, want %v)", r.Index, err, e.LeafHash, r.LeafHash)
		}
	}
	if _, err := l2.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWithhold(t *testing.T) {
	l := openTest(t, t.TempDir(), nil)
	defer l.Close()
	ctx := t.Context()
	var receipts []*verify.Receipt
	for i := range 10 {
		r, err := l.Append(ctx, payload(i))
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, r)
	}
	if err := l.Withhold(ctx, 4, "court order 2026-123"); err != nil {
		t.Fatal(err)
	}
	e, err := l.Entry(ctx, 4)
	if err != nil || e.Payload != nil || e.Withheld != "court order 2026-123" {
		t.Fatalf("Entry(4) = payload %q, withheld %q, %v", e.Payload, e.Withheld, err)
	}
	st, err := l.Verify(ctx)
	if err != nil || st.Withheld != 1 {
		t.Fatalf("Verify() = %+v, %v; want 1 withheld and no error", st, err)
	}
	cp, _ := verify.OpenCheckpoint(l.Checkpoint(), testOrigin, l.Verifier())
	p, err := l.InclusionProof(ctx, 4, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.VerifyInclusion(4, cp.Size, receipts[4].LeafHash, p, cp.Root); err != nil {
		t.Fatalf("proof of a withheld entry: %v", err)
	}
	var seen []bool
	err = l.Entries(ctx, 0, 10, func(e Entry) error {
		seen = append(seen, e.Payload == nil)
		return nil
	})
	if err != nil || len(seen) != 10 || !seen[4] || seen[3] {
		t.Fatalf("Entries = %v, %v", seen, err)
	}
	got, err := l.EntryByLeafHash(ctx, receipts[7].LeafHash)
	if err != nil || got.Index != 7 {
		t.Fatalf("EntryByLeafHash = %d, %v", got.Index, err)
	}
	if ch, err := l.ChainHead(ctx, 10); err != nil || ch != receipts[9].ChainHash {
		t.Fatalf("ChainHead(10) = %v, %v; want %v", ch, err, receipts[9].ChainHash)
	}
}

func TestTimeNeverGoesBackwards(t *testing.T) {
	var mu sync.Mutex
	clock := time.Unix(2000, 0)
	l := openTest(t, t.TempDir(), func(o *Options) {
		o.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(-time.Second) // a clock running backwards
			return clock
		}
	})
	defer l.Close()
	var last int64
	for i := range 5 {
		r, err := l.Append(t.Context(), payload(i))
		if err != nil {
			t.Fatal(err)
		}
		h, _ := verify.ParseHeader(r.Header)
		if h.Time < last {
			t.Fatalf("entry %d time %d < previous %d", i, h.Time, last)
		}
		last = h.Time
	}
}

// gateHook blocks the sequencer on the append whose argument is "gate"
// until release is closed, so that the appends behind it queue up.
type gateHook struct{ entered, release chan struct{} }

func (h gateHook) Sequence(_ View, _ uint64, _ []byte, arg any) ([]KV, error) {
	if arg == "gate" {
		close(h.entered)
		<-h.release
	}
	return nil, nil
}

// TestBatchInterval checks that with a BatchInterval a lone caller is
// committed at once, while appends that arrive together are held in one
// batch until the interval has passed since the previous seal (here an
// hour, so until Close, which commits them).
func TestBatchInterval(t *testing.T) {
	hook := gateHook{entered: make(chan struct{}), release: make(chan struct{})}
	var mu sync.Mutex
	var commits []int
	l := openTest(t, t.TempDir(), func(o *Options) {
		o.BatchInterval = time.Hour
		o.Hook = hook
		o.OnCommit = func(entries, _ int, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			commits = append(commits, entries)
		}
	})
	ctx := t.Context()
	for i := range 2 { // the second comes right after a seal, alone
		if _, err := l.Append(ctx, payload(i)); err != nil {
			t.Fatalf("lone Append %d: %v", i, err)
		}
	}

	const crowd = 10
	errs := make(chan error, crowd+1)
	go func() { _, err := l.AppendWith(ctx, payload(100), "gate"); errs <- err }()
	<-hook.entered
	for i := range crowd {
		go func() { _, err := l.Append(ctx, payload(200+i)); errs <- err }()
	}
	for l.pending.Load() < crowd+1 {
		time.Sleep(time.Millisecond)
	}
	close(hook.release)
	select {
	case err := <-errs:
		t.Fatalf("an append of the held batch returned before the interval: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for range crowd + 1 {
		if err := <-errs; err != nil {
			t.Errorf("held append: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []int{1, 1, crowd + 1}; !slices.Equal(commits, want) {
		t.Errorf("batches committed %v, want %v", commits, want)
	}
}

// TestWithholdInSharedGroups withholds, concurrently, payloads that share
// payload groups with each other and with payloads that stay: each
// withholding keeps the others', and Verify agrees.
func TestWithholdInSharedGroups(t *testing.T) {
	l := openTest(t, t.TempDir(), nil)
	defer l.Close()
	ctx := t.Context()
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := l.Append(ctx, payload(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	groups := 0
	l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPayload}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			groups++
		}
		return nil
	})
	if groups >= n {
		t.Fatalf("%d concurrent appends made %d payload groups, want fewer", n, groups)
	}
	for i := uint64(0); i < n; i += 2 {
		wg.Go(func() {
			if err := l.Withhold(ctx, i, fmt.Sprintf("order %d", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	err := l.Entries(ctx, 0, n, func(e Entry) error {
		switch {
		case e.Index%2 == 0 && (e.Payload != nil || e.Withheld != fmt.Sprintf("order %d", e.Index)):
			return fmt.Errorf("entry %d: payload %q, withheld %q; want it withheld", e.Index, e.Payload, e.Withheld)
		case e.Index%2 == 1 && (e.Payload == nil || verify.PayloadDigest(e.Payload) != e.Parsed.PayloadDigest):
			return fmt.Errorf("entry %d: payload %q, want its own", e.Index, e.Payload)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := l.Verify(ctx); err != nil || st.Withheld != n/2 {
		t.Fatalf("Verify() = %+v, %v; want %d withheld", st, err, n/2)
	}
}
