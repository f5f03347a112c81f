// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestDiskFull fills a real small disk: AKASHI_TMPFS names a mounted,
// small (about 64 MiB), empty tmpfs (.ci/run mounts one where it may).
// Appends must fail with ErrStorage — not crash the process, as a write
// into a full disk through Badger's memory maps would — the store must stay
// whole and readable, and appends must resume once space is freed.
func TestDiskFull(t *testing.T) {
	mnt := os.Getenv("AKASHI_TMPFS")
	if mnt == "" {
		t.Skip("set AKASHI_TMPFS to a small mounted tmpfs to run")
	}
	dir := filepath.Join(mnt, "ledger")
	filler := filepath.Join(mnt, "filler")
	defer os.RemoveAll(dir)
	defer os.Remove(filler)
	// Something else on the disk, to be deleted later.
	if err := os.WriteFile(filler, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	l := openTest(t, dir, func(o *Options) {
		o.MemTableSize = 4 << 20
		o.MaxBatchSize = 64
		o.MaxBatchBytes = 256 << 10
		o.MaxPayloadSize = 64 << 10
		o.MinFreeSpace = 4 << 20
	})
	defer l.Close()
	ctx := t.Context()
	p := make([]byte, 32<<10)
	var err error
	n := 0
	for ; n < 100000; n++ {
		p[0], p[1], p[2] = byte(n), byte(n>>8), byte(n>>16)
		if _, err = l.Append(ctx, p); err != nil {
			break
		}
	}
	t.Logf("appended %d entries of 32 KiB, then: %v", n, err)
	if !errors.Is(err, ErrStorage) || n == 0 {
		t.Fatalf("Append on a full disk = %v after %d entries, want ErrStorage", err, n)
	}
	size := l.Size()
	if _, err := l.Entry(ctx, 0); err != nil {
		t.Fatalf("Entry on a full disk = %v", err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify on a full disk = %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r, err := l.Append(ctx, p[:100])
	if err != nil || r.Index != size {
		t.Fatalf("Append once space is freed = %v, %v; want index %d", r, err, size)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify after the disk was full = %v", err)
	}
}
