// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/akashi-ledger/akashi/client"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

func TestDialPinsTheLogKey(t *testing.T) {
	ctx := t.Context()
	other := "other.example/log+0badc0de+AaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaA"
	for _, tc := range []struct {
		name string
		opts client.Options
		err  error
	}{
		{"pinned", client.Options{VerifierKey: verifierKey}, nil},
		{"trust on first use", client.Options{TrustServerKey: true}, nil},
		{"nothing pinned", client.Options{}, client.ErrLogKey},
		{"another log's key", client.Options{VerifierKey: other}, client.ErrLogKey},
		{"not a key", client.Options{VerifierKey: "nonsense"}, client.ErrLogKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.Dial(ctx, serverAddr, tc.opts)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Dial = %v, want %v", err, tc.err)
			}
			if err == nil {
				defer c.Close()
				if c.VerifierKey() != verifierKey {
					t.Errorf("VerifierKey() = %q, want %q", c.VerifierKey(), verifierKey)
				}
			}
		})
	}
}

func TestSignerAppendRetryAndState(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	state := filepath.Join(t.TempDir(), "tokyo.state")
	key := e.register(tokyoID, "東京都")
	s, err := client.NewSigner(ctx, e.c, key, client.SignerOptions{StateFile: state})
	if err != nil {
		t.Fatal(err)
	}

	r1 := decision(t, tokyoID, "dec-1")
	rc, err := s.Append(ctx, r1)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Duplicate || rc.Existing || rc.TreeSize() <= rc.Index || s.Sequence() != 1 {
		t.Fatalf("receipt %+v, sequence %d", rc, s.Sequence())
	}
	if err := rc.Verify(e.c.Verifier()); err != nil {
		t.Fatalf("the receipt does not verify on its own: %v", err)
	}

	// An invalid record is refused locally: nothing is sent.
	size := e.size()
	bad := decision(t, tokyoID, "dec-bad")
	bad.GetDecision().DecisionDate = "2020-02-30"
	if _, err := s.Append(ctx, bad); !errors.Is(err, record.ErrOutOfRange) {
		t.Fatalf("Append(invalid) = %v, want a validation error", err)
	}
	if got := e.size(); got != size || s.Sequence() != 1 {
		t.Fatalf("after an invalid record: size %d (want %d), sequence %d", got, size, s.Sequence())
	}

	// The same record again, under a new statement: the log holds it, so
	// its original entry's receipt comes back.
	again, err := s.Append(ctx, r1)
	if err != nil || !again.Existing || again.Index != rc.Index {
		t.Fatalf("Append(same record) = %+v, %v; want the receipt of entry %d marked Existing", again, err, rc.Index)
	}
	// Another record with a used id is a conflict.
	conflict := decision(t, tokyoID, "dec-1")
	conflict.GetDecision().Title = "別の決定"
	if _, err := s.Append(ctx, conflict); status.Code(err) != codes.AlreadyExists || !errors.Is(err, client.ErrRefused) {
		t.Fatalf("Append(conflicting record) = %v, want AlreadyExists", err)
	}

	// A crash after a statement was saved and before it was sent: the
	// next signer sends the saved bytes first.
	r2 := decision(t, tokyoID, "dec-2")
	var saved map[string]any
	readJSON(t, state, &saved)
	prev, _ := base64.StdEncoding.DecodeString(saved["previous"].(string))
	ss, err := record.Sign(key, e.c.Origin(), &akashiv1.Statement{Sequence: 2, Previous: prev, Body: &akashiv1.Statement_Record{Record: r2}})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := proto.MarshalOptions{Deterministic: true}.Marshal(ss)
	h := record.StatementHash(ss.GetStatement())
	saved["sequence"], saved["previous"], saved["pending"] = 2, h[:], [][]byte{payload}
	writeJSON(t, state, saved)
	s2, err := client.NewSigner(ctx, e.c, key, client.SignerOptions{StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.c.Record(ctx, tokyoID, "dec-2")
	if err != nil || s2.Sequence() != 2 || got.Statement.GetSequence() != 2 {
		t.Fatalf("after reopening with a pending statement: %v, sequence %d", err, s2.Sequence())
	}
	// Sending it again is a safe retry: the original receipt.
	again2, err := s2.Append(ctx, r2)
	if err != nil || again2.Index != got.Index {
		t.Fatalf("Append(dec-2 again) = %+v, %v; want entry %d", again2, err, got.Index)
	}

	// A lost state file: the signer continues from where the log says.
	os.Remove(state)
	s3, err := client.NewSigner(ctx, e.c, key, client.SignerOptions{StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	if s3.Sequence() != 2 {
		t.Fatalf("resynced sequence %d, want 2", s3.Sequence())
	}
	// A stale signer (s is behind by one) recovers by resyncing.
	if _, err := s.Append(ctx, decision(t, tokyoID, "dec-3")); err != nil {
		t.Fatalf("a stale signer: %v", err)
	}
	if s.Sequence() != 3 {
		t.Fatalf("sequence %d, want 3", s.Sequence())
	}
	// A state that remembers more acknowledged statements than the log
	// holds: the log was rewound.
	readJSON(t, state, &saved)
	saved["acknowledged"] = 40
	writeJSON(t, state, saved)
	if _, err := client.NewSigner(ctx, e.c, key, client.SignerOptions{StateFile: state}); !errors.Is(err, client.ErrRewound) {
		t.Fatalf("NewSigner with a state ahead of the log = %v, want ErrRewound", err)
	}
	// An unregistered key.
	_, stranger, _ := ed25519.GenerateKey(nil)
	if _, err := client.NewSigner(ctx, e.c, stranger, client.SignerOptions{}); !errors.Is(err, client.ErrNotRegistered) {
		t.Fatalf("NewSigner(unregistered) = %v, want ErrNotRegistered", err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
