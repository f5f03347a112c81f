// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/akashi-ledger/akashi/client"
	"github.com/akashi-ledger/akashi/client/internal/testserver"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// The server the examples use, started by TestMain.
var (
	serverAddr  string // gRPC host:port
	verifierKey string // the log's verifier key
	governance  ed25519.PrivateKey
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "akashi-example-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	defer testserver.Cleanup()
	s, err := testserver.StartMain(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Stop()
	serverAddr, verifierKey, governance = s.GRPC, s.VerifierKey, s.Governance
	return m.Run()
}

const (
	tokyoID = "JP-JCN-8000020130001"
	osakaID = "JP-JCN-4000020270008"
)

// env is a server of the test's own, with a client and its governance signer.
type env struct {
	t   *testing.T
	srv *testserver.Server
	c   *client.Client
	gov *client.Signer
}

func newEnv(t *testing.T, extra ...string) *env {
	t.Helper()
	srv := testserver.Start(t, t.TempDir(), extra...)
	return envFor(t, srv)
}

func envFor(t *testing.T, srv *testserver.Server) *env {
	t.Helper()
	c, err := client.Dial(t.Context(), srv.GRPC, client.Options{VerifierKey: srv.VerifierKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	gov, err := client.NewSigner(t.Context(), c, srv.Governance, client.SignerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, c: c, gov: gov}
}

// register registers a new key for an agency and returns it.
func (e *env) register(id, name string) ed25519.PrivateKey {
	e.t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.gov.Govern(e.t.Context(), client.RegisterKey(client.Org(id, name), priv.Public().(ed25519.PublicKey), "test")); err != nil {
		e.t.Fatal(err)
	}
	return priv
}

// agency registers a new key for an agency and returns its signer.
func (e *env) agency(id, name string, opts client.SignerOptions) *client.Signer {
	e.t.Helper()
	s, err := client.NewSigner(e.t.Context(), e.c, e.register(id, name), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) size() uint64 {
	e.t.Helper()
	info, err := e.c.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.Checkpoint.Size
}

var recorded = time.Date(2020, 4, 7, 19, 0, 0, 0, time.FixedZone("JST", 9*3600))

func decision(t testing.TB, publisher, id string) *akashiv1.Record {
	t.Helper()
	r, err := client.NewDecision(client.Envelope{ID: id, Publisher: client.Org(publisher, "agency"), RecordedAt: recorded}, &akashiv1.Decision{
		Title: "決定 " + id, Type: akashiv1.DecisionType_DECISION_TYPE_POLICY,
		DecisionDate: "2020-04-07", Status: akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
