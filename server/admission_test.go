// SPDX-License-Identifier: Apache-2.0

package server

import (
	"crypto/rand"
	"io"
	"log/slog"
	"runtime"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
)

// TestUnaryAppendsShedWhenManyArePreparing: with as many unary appends
// being verified as the server allows, one more is shed at once with
// ResourceExhausted, before any check; when they finish, it is checked.
func TestUnaryAppendsShedWhenManyArePreparing(t *testing.T) {
	const origin = "admission.test.akashi.example/log"
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := ledger.Open(t.Context(), t.TempDir(), ledger.Options{Origin: origin, Signer: signer, Verifier: verifier, Hook: Hook(origin), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := New(l, Options{VerifierKey: vkey, Logger: logger})
	defer s.Close()
	req := &akashiv1.AppendRecordRequest{Statement: &akashiv1.SignedStatement{KeyId: "0123456789abcdef"}}

	s.preparing.Store(int64(maxPreparingPerCPU * runtime.GOMAXPROCS(0)))
	_, err = s.AppendRecord(t.Context(), req)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("AppendRecord with the server full = %v, want ResourceExhausted", err)
	}
	s.preparing.Store(0)
	_, err = s.AppendRecord(t.Context(), req)
	if c := status.Code(err); c == codes.ResourceExhausted || c == codes.OK {
		t.Fatalf("AppendRecord of a bad statement with room = %v, want it checked and refused", err)
	}
	if n := s.preparing.Load(); n != 0 {
		t.Fatalf("%d appends still counted as preparing", n)
	}
}
