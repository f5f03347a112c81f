// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"go.uber.org/goleak"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// TestVerifierAgreesWithVerifySignature has many callers at once submit
// good and bad signatures mixed, so that batches hold both and mix
// callers: every job must get exactly the answer record.VerifySignature
// gives for it alone.
func TestVerifierAgreesWithVerifySignature(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const origin = "test.example/log"
	v := newVerifier(origin, 2)
	defer v.close()

	keys := make([]ed25519.PrivateKey, 4)
	for i := range keys {
		_, keys[i], _ = ed25519.GenerateKey(nil)
	}
	type kind struct {
		name string
		make func(r *rand.Rand, n int) (ed25519.PublicKey, *akashiv1.SignedStatement)
	}
	stmt := func(n int) []byte { return fmt.Appendf(nil, "statement %d", n) }
	kinds := []kind{
		{"good", func(r *rand.Rand, n int) (ed25519.PublicKey, *akashiv1.SignedStatement) {
			k := keys[r.IntN(len(keys))]
			return k.Public().(ed25519.PublicKey), record.SignBytes(k, origin, stmt(n))
		}},
		{"flipped signature bit", func(r *rand.Rand, n int) (ed25519.PublicKey, *akashiv1.SignedStatement) {
			k := keys[r.IntN(len(keys))]
			ss := record.SignBytes(k, origin, stmt(n))
			ss.Signature[r.IntN(len(ss.Signature))] ^= 1 << r.IntN(8)
			return k.Public().(ed25519.PublicKey), ss
		}},
		{"another log", func(r *rand.Rand, n int) (ed25519.PublicKey, *akashiv1.SignedStatement) {
			k := keys[r.IntN(len(keys))]
			return k.Public().(ed25519.PublicKey), record.SignBytes(k, "other.example/log", stmt(n))
		}},
		{"another key", func(r *rand.Rand, n int) (ed25519.PublicKey, *akashiv1.SignedStatement) {
			ss := record.SignBytes(keys[0], origin, stmt(n))
			return keys[1].Public().(ed25519.PublicKey), ss
		}},
		{"short signature", func(r *rand.Rand, n int) (ed25519.PublicKey, *akashiv1.SignedStatement) {
			ss := record.SignBytes(keys[0], origin, stmt(n))
			ss.Signature = ss.Signature[:63]
			return keys[0].Public().(ed25519.PublicKey), ss
		}},
	}

	const callers, rounds = 16, 20
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(c), 1))
			for round := range rounds {
				jobs := make([]*sigJob, 1+r.IntN(2*maxVerifyBatch))
				names := make([]string, len(jobs))
				for i := range jobs {
					k := kinds[0]
					if r.IntN(8) == 0 { // mostly good, so that batches verify as such
						k = kinds[1+r.IntN(len(kinds)-1)]
					}
					key, ss := k.make(r, c*1_000_000+round*1000+i)
					jobs[i], names[i] = &sigJob{key: key, ss: ss}, k.name
				}
				if err := v.verify(context.Background(), jobs); err != nil {
					t.Errorf("verify = %v", err)
					return
				}
				for i, j := range jobs {
					want := record.VerifySignature(j.key, origin, j.ss)
					if fmt.Sprint(j.err) != fmt.Sprint(want) {
						t.Errorf("caller %d round %d job %d (%s): err = %v, want %v", c, round, i, names[i], j.err, want)
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestVerifierEnds(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	_, key, _ := ed25519.GenerateKey(nil)
	job := func() []*sigJob {
		return []*sigJob{{key: key.Public().(ed25519.PublicKey), ss: record.SignBytes(key, "o", []byte("s"))}}
	}
	v := newVerifier("o", 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// With no worker free to take it, a job for a cancelled context fails.
	v0 := &verifier{origin: "o", jobs: make(chan *sigJob), quit: make(chan struct{})}
	if err := v0.verify(ctx, job()); !errors.Is(err, context.Canceled) {
		t.Errorf("verify with a cancelled context = %v, want context.Canceled", err)
	}
	if err := v.verify(context.Background(), job()); err != nil {
		t.Errorf("verify = %v", err)
	}
	v.close()
	v.close() // idempotent
	if err := v.verify(context.Background(), job()); !errors.Is(err, errVerifierClosed) {
		t.Errorf("verify after close = %v, want errVerifierClosed", err)
	}
}
