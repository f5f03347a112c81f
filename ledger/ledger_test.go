// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/mod/sumdb/note"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// When badger.Open fails (TestOpenAfterCrashLeftovers makes it),
		// its clean-up stops every goroutine it started but these two
		// (badger v4.9.6, DB.cleanup). A DB left open would show many more.
		goleak.IgnoreTopFunction("github.com/dgraph-io/badger/v4.(*DB).monitorCache"),
		goleak.IgnoreTopFunction("github.com/dgraph-io/ristretto/v2/z.(*AllocatorPool).freeupAllocators"),
	)
}

const testOrigin = "test.akashi.example/log"

// testKeys is one signing key for all tests, the same in every process, so
// stores can be reopened, also by the crash test's child process.
var testKeys = sync.OnceValues(func() (note.Signer, note.Verifier) {
	seed := detReader(42)
	skey, vkey, err := note.GenerateKey(&seed, testOrigin)
	if err != nil {
		panic(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		panic(err)
	}
	return s, v
})

func testOptions() Options {
	s, v := testKeys()
	return Options{
		Origin:   testOrigin,
		Signer:   s,
		Verifier: v,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func openTest(t testing.TB, dir string, mod func(*Options)) *Log {
	t.Helper()
	o := testOptions()
	if mod != nil {
		mod(&o)
	}
	l, err := Open(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	return l
}

func payload(i int) []byte {
	return []byte(fmt.Sprintf("payload %d %s", i, time.Now().Format(time.RFC3339Nano)))
}

func TestAppendReceiptsVerify(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, nil)
	ctx := t.Context()
	const n = 1000
	var wg sync.WaitGroup
	receipts := make([]*verify.Receipt, n)
	payloads := make([][]byte, n)
	for i := range n {
		payloads[i] = payload(i)
	}
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				r, err := l.Append(ctx, payloads[i])
				if err != nil {
					t.Errorf("Append(%d) = %v", i, err)
					return
				}
				receipts[i] = r
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	seen := map[uint64]bool{}
	for i, r := range receipts {
		if _, _, err := verify.VerifyReceipt(r, testOrigin, l.Verifier()); err != nil {
			t.Fatalf("VerifyReceipt(%d) = %v", i, err)
		}
		if err := r.CheckPayload(payloads[i]); err != nil {
			t.Fatalf("CheckPayload(%d) = %v", i, err)
		}
		if seen[r.Index] {
			t.Fatalf("index %d given twice", r.Index)
		}
		seen[r.Index] = true
	}
	if got := l.Size(); got != n {
		t.Fatalf("Size() = %d, want %d", got, n)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir, nil)
	defer l.Close()
	if got := l.Size(); got != n {
		t.Fatalf("after reopen Size() = %d, want %d", got, n)
	}
	st, err := l.Verify(ctx)
	if err != nil {
		t.Fatalf("Verify() after reopen = %v", err)
	}
	if st.Entries != n {
		t.Fatalf("Verify() checked %d entries, want %d", st.Entries, n)
	}
	// Receipts stay provable against the latest checkpoint.
	cp, err := verify.OpenCheckpoint(l.Checkpoint(), testOrigin, l.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range receipts {
		p, err := l.InclusionProof(ctx, r.Index, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := verify.VerifyInclusion(r.Index, cp.Size, r.LeafHash, p, cp.Root); err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		e, err := l.Entry(ctx, r.Index)
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Payload) != string(payloads[i]) {
			t.Fatalf("Entry(%d).Payload = %q, want %q", r.Index, e.Payload, payloads[i])
		}
	}
	// Append after reopen continues the chain.
	r, err := l.Append(ctx, []byte("after reopen"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Index != n {
		t.Fatalf("Append after reopen index = %d, want %d", r.Index, n)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify() = %v", err)
	}
}
