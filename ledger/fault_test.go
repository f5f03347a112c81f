// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// TestStorageFault fails the store's writes as a full or failing disk
// would, under concurrent appends: appends fail with ErrStorage, nothing
// of a failed batch is visible, reads keep working, and appends resume
// when the fault clears, with no gap in the indexes.
func TestStorageFault(t *testing.T) {
	l := openTest(t, t.TempDir(), func(o *Options) { o.Hook = uniqueNames{} })
	defer l.Close()
	ctx := t.Context()
	for i := range 50 {
		if _, err := l.Append(ctx, payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := l.Head()
	var failing atomic.Bool
	fault := func() error {
		if failing.Load() {
			return syscall.ENOSPC
		}
		return nil
	}
	l.fault.Store(&fault)
	failing.Store(true)

	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				_, err := l.Append(ctx, payload(1000+w*10+i))
				if !errors.Is(err, ErrStorage) {
					t.Errorf("Append on a failing disk = %v, want ErrStorage", err)
				}
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	// A name refused during the fault may be taken later: the hook's view
	// forgot what the failed batches staged.
	if _, err := l.Append(ctx, []byte("name:during")); !errors.Is(err, ErrStorage) {
		t.Fatalf("Append during the fault = %v", err)
	}
	if h := l.Head(); h.Size != before.Size || string(h.Checkpoint) != string(before.Checkpoint) {
		t.Fatalf("a failed batch is visible: size %d, want %d", h.Size, before.Size)
	}
	// Reads keep working.
	if _, err := l.Entry(ctx, 10); err != nil {
		t.Fatalf("Entry during the fault = %v", err)
	}
	if _, err := l.InclusionProof(ctx, 3, before.Size); err != nil {
		t.Fatalf("InclusionProof during the fault = %v", err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify during the fault = %v", err)
	}

	failing.Store(false)
	var receipts []*verify.Receipt
	for i := range 20 {
		r, err := l.Append(ctx, payload(5000+i))
		if err != nil {
			t.Fatalf("Append after the fault cleared = %v", err)
		}
		receipts = append(receipts, r)
	}
	if receipts[0].Index != before.Size {
		t.Fatalf("first index after the fault %d, want %d (no gap)", receipts[0].Index, before.Size)
	}
	if _, err := l.Append(ctx, []byte("name:during")); err != nil {
		t.Fatalf("a name refused during the fault, appended after it: %v", err)
	}
	st, err := l.Verify(ctx)
	if err != nil || st.Entries != before.Size+21 {
		t.Fatalf("Verify after the fault = %+v, %v", st, err)
	}
	for _, r := range receipts {
		if _, _, err := verify.VerifyReceipt(r, testOrigin, l.Verifier()); err != nil {
			t.Fatal(err)
		}
	}
}
