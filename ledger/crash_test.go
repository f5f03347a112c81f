// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

const crashDirEnv = "AKASHI_LEDGER_CRASH_DIR"

// TestCrashChild is the process TestCrashRecovery kills: it appends from
// many goroutines and prints each acknowledged receipt.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process of TestCrashRecovery")
	}
	l, err := Open(context.Background(), dir, testOptions())
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	for w := range 64 {
		go func() {
			p := make([]byte, 1024)
			for i := 0; ; i++ {
				copy(p, fmt.Sprintf("worker %d append %d %d", w, i, time.Now().UnixNano()))
				r, err := l.Append(context.Background(), p)
				if err != nil {
					continue
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %d %x\n", r.Index, r.LeafHash[:])
				out.Flush() // the receipt is out of the process before the next one
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestCrashRecovery kills an appending process with SIGKILL at random
// moments, again and again on the same store, and checks after each
// restart that every acknowledged entry is there and provable, that no
// index was given twice, and that Verify passes. AKASHI_CRASH_CYCLES sets
// the number of cycles (default 8; the long run in docs uses 100).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash cycles are slow")
	}
	cycles := 8
	if s := os.Getenv("AKASHI_CRASH_CYCLES"); s != "" {
		var err error
		if cycles, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	acked := map[uint64]verify.Hash{}
	rng := rand.New(rand.NewPCG(5, 6))
	ctx := t.Context()
	for c := range cycles {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() || lines.Text() != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("cycle %d: child did not start: %q", c, lines.Text())
		}
		killAt := time.Duration(50+rng.IntN(400)) * time.Millisecond
		timer := time.AfterFunc(killAt, func() { cmd.Process.Kill() })
		n := 0
		for lines.Scan() {
			f := strings.Fields(lines.Text())
			if len(f) != 3 || f[0] != "ack" {
				continue
			}
			i, _ := strconv.ParseUint(f[1], 10, 64)
			b, _ := hex.DecodeString(f[2])
			leaf := verify.Hash(b)
			if prev, ok := acked[i]; ok && prev != leaf {
				t.Fatalf("cycle %d: index %d acknowledged twice, for leaves %v and %v", c, i, prev, leaf)
			}
			acked[i] = leaf
			n++
		}
		timer.Stop()
		cmd.Wait()

		l, err := Open(ctx, dir, testOptions())
		if err != nil {
			t.Fatalf("cycle %d: Open after SIGKILL = %v", c, err)
		}
		head := l.Head()
		cp, err := verify.OpenCheckpoint(head.Checkpoint, testOrigin, l.Verifier())
		if err != nil {
			t.Fatal(err)
		}
		for i, leaf := range acked {
			e, err := l.Entry(ctx, i)
			if err != nil || e.LeafHash != leaf {
				t.Fatalf("cycle %d: acknowledged entry %d lost: %v (leaf %v, want %v)", c, i, err, e.LeafHash, leaf)
			}
			p, err := l.InclusionProof(ctx, i, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := verify.VerifyInclusion(i, cp.Size, leaf, p, cp.Root); err != nil {
				t.Fatalf("cycle %d: acknowledged entry %d: %v", c, i, err)
			}
		}
		if _, err := l.Verify(ctx); err != nil {
			t.Fatalf("cycle %d: Verify = %v", c, err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("cycle %d: killed after %v, %d receipts, log size %d, all %d acknowledged entries verified", c, killAt, n, head.Size, len(acked))
	}
}
