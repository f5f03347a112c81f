// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
)

// newAdmissionServer returns a server over a new, empty log, both closed
// when the test ends.
func newAdmissionServer(t *testing.T) *Server {
	t.Helper()
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
	s := New(l, Options{VerifierKey: vkey, Logger: logger})
	t.Cleanup(func() {
		s.Close()
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// TestUnaryAppendsShedWhenManyArePreparing: with as many unary appends
// being verified as the server allows, one more is shed at once with
// ResourceExhausted, before any check; when they finish, it is checked.
func TestUnaryAppendsShedWhenManyArePreparing(t *testing.T) {
	s := newAdmissionServer(t)
	req := &akashiv1.AppendRecordRequest{Statement: &akashiv1.SignedStatement{KeyId: "0123456789abcdef"}}

	s.preparing.Store(s.preparingLimit())
	_, err := s.AppendRecord(t.Context(), req)
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

// TestTapShedsUnaryAppendsBeforeReading: with the server full, a unary
// append over gRPC is refused by the tap handle with ResourceExhausted,
// before its request is decoded (the handler, which counts what it checks,
// never sees it); other methods and streams pass; with room, the append
// reaches the handler.
func TestTapShedsUnaryAppendsBeforeReading(t *testing.T) {
	s := newAdmissionServer(t)
	var handled atomic.Int32
	gs := grpc.NewServer(grpc.InTapHandle(s.TapHandle), grpc.ChainUnaryInterceptor(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			handled.Add(1)
			return h(ctx, req)
		}))
	akashiv1.RegisterLedgerServiceServer(gs, s)
	conn, stop := ServeLoopback(t, gs)
	defer stop()
	c := akashiv1.NewLedgerServiceClient(conn)
	req := &akashiv1.AppendRecordRequest{Statement: &akashiv1.SignedStatement{KeyId: "0123456789abcdef"}}

	s.preparing.Store(s.preparingLimit())
	_, err := c.AppendRecord(t.Context(), req)
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "being verified") {
		t.Fatalf("AppendRecord with the server full = %v, want ResourceExhausted naming the statements being verified", err)
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("the refused append reached the handler (%d calls)", n)
	}
	if _, err := c.GetLogInfo(t.Context(), &akashiv1.GetLogInfoRequest{}); err != nil {
		t.Fatalf("GetLogInfo with the server full = %v, want it served", err)
	}
	s.preparing.Store(0)
	_, err = c.AppendRecord(t.Context(), req)
	if code := status.Code(err); code == codes.ResourceExhausted || code == codes.OK {
		t.Fatalf("AppendRecord of a bad statement with room = %v, want it checked and refused", err)
	}
	if n := handled.Load(); n != 2 {
		t.Fatalf("handler saw %d calls, want 2 (GetLogInfo and the append with room)", n)
	}
}
