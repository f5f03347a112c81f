// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/registry"
)

const (
	tokyoID = "JP-JCN-8000020130001"
	osakaID = "JP-JCN-4000020270008"
)

func testKey(seed byte) ed25519.PrivateKey {
	var s [32]byte
	s[0], s[1] = seed, 0xa5
	return ed25519.NewKeyFromSeed(s[:])
}

func decision(publisher, id string) *akashiv1.Statement {
	return &akashiv1.Statement{Body: &akashiv1.Statement_Record{Record: &akashiv1.Record{
		Id: id, ProcessId: id, Tag: akashiv1.Tag_TAG_NEW,
		Publisher:  &akashiv1.Organization{Id: publisher, Name: "agency"},
		RecordedAt: "2020-04-07T19:00:00+09:00", License: "CC-BY-4.0",
		Body: &akashiv1.Record_Decision{Decision: &akashiv1.Decision{
			Title: "決定 " + id, Type: akashiv1.DecisionType_DECISION_TYPE_POLICY,
			DecisionDate: "2020-04-07", Status: akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE,
		}},
	}}}
}

func registerKey(agency string, k ed25519.PrivateKey) *akashiv1.GovernanceAction {
	return &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{
		Agency: &akashiv1.Organization{Id: agency, Name: "agency " + agency}, PublicKey: k.Public().(ed25519.PublicKey), Label: "office",
	}}}
}

// replay reads the whole log over gRPC and replays the registry from it:
// every signature against the keys valid at its index, every sequence and
// per-signer chain.
func replay(t *testing.T, s *testServer) *registry.Memory {
	t.Helper()
	m := registry.NewMemory(testOrigin)
	req := &akashiv1.ListEntriesRequest{PageSize: 1000}
	for {
		resp, err := s.client.ListEntries(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.GetEntries() {
			if err := m.Append(e.GetIndex(), e.GetPayload()); err != nil {
				t.Fatalf("replaying the registry: %v", err)
			}
		}
		if resp.GetNextPageToken() == "" {
			return m
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// TestIdentityRefusals tries each way of writing without the right to, and
// checks the code, the message and that the log is unchanged.
func TestIdentityRefusals(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := t.Context()
	gov, err := resume(ctx, s.registry, s.gov, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	tokyo, osaka, revoked, late := testKey(1), testKey(2), testKey(3), testKey(4)
	for _, r := range []struct {
		agency string
		k      ed25519.PrivateKey
	}{{tokyoID, tokyo}, {osakaID, osaka}, {tokyoID, revoked}} {
		if _, err := gov.governance(ctx, s.registry, registerKey(r.agency, r.k)); err != nil {
			t.Fatal(err)
		}
	}
	ts := &chainSigner{key: tokyo, origin: testOrigin}
	rs := &chainSigner{key: revoked, origin: testOrigin}
	for i, c := range []*chainSigner{ts, ts, rs} {
		ss, _ := c.sign(decision(tokyoID, fmt.Sprint("ok-", i)))
		if _, err := s.client.AppendRecord(ctx, &akashiv1.AppendRecordRequest{Statement: ss}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gov.governance(ctx, s.registry, &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RevokeKey{RevokeKey: &akashiv1.RevokeKey{KeyId: record.KeyID(revoked.Public().(ed25519.PublicKey)), Reason: "compromised"}}}); err != nil {
		t.Fatal(err)
	}
	lastOK, _ := ts.sign(decision(tokyoID, "ok-last"))
	if _, err := s.client.AppendRecord(ctx, &akashiv1.AppendRecordRequest{Statement: lastOK}); err != nil {
		t.Fatal(err)
	}
	size := s.size()
	next := func(c *chainSigner) *chainSigner { cc := *c; return &cc }
	signed := func(c *chainSigner, st *akashiv1.Statement) *akashiv1.SignedStatement {
		ss, err := next(c).sign(st)
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	forged := signed(ts, decision(tokyoID, "forged"))
	forged.Signature[10] ^= 1
	tampered := signed(ts, decision(tokyoID, "tampered"))
	tst, _ := record.DecodeStatement(tampered.GetStatement())
	tst.GetRecord().GetDecision().Title = "改ざん"
	tampered.Statement, _ = proto.MarshalOptions{Deterministic: true}.Marshal(tst)
	otherLog := &chainSigner{key: tokyo, origin: "other.example/log", seq: ts.seq, last: ts.last}
	gap := next(ts)
	gap.seq++
	used := next(ts)
	used.seq--

	for _, tc := range []struct {
		name string
		ss   *akashiv1.SignedStatement
		gov  bool
		code codes.Code
		msg  string
	}{
		{"forged signature", forged, false, codes.Unauthenticated, "signature"},
		{"tampered after signing", tampered, false, codes.Unauthenticated, "signature"},
		{"signed for another log", signed(otherLog, decision(tokyoID, "x")), false, codes.Unauthenticated, "signature"},
		{"key not registered yet", signed(&chainSigner{key: late, origin: testOrigin}, decision(tokyoID, "x")), false, codes.Unauthenticated, "not registered"},
		{"another agency's key", signed(&chainSigner{key: osaka, origin: testOrigin}, decision(tokyoID, "x")), false, codes.PermissionDenied, "writes for " + osakaID},
		{"revoked key", signed(rs, decision(tokyoID, "x")), false, codes.PermissionDenied, "revoked"},
		{"sequence used, other bytes", signed(used, decision(tokyoID, "x")), false, codes.AlreadyExists, "already used sequence"},
		{"sequence gap", signed(gap, decision(tokyoID, "x")), false, codes.FailedPrecondition, fmt.Sprintf("want %d", ts.seq+1)},
		{"previous hash wrong", func() *akashiv1.SignedStatement {
			c := next(ts)
			c.last = make([]byte, 32)
			return signed(c, decision(tokyoID, "x"))
		}(), false, codes.FailedPrecondition, "previous"},
		{"governance by an agency key", signed(ts, &akashiv1.Statement{Body: &akashiv1.Statement_Governance{Governance: registerKey(tokyoID, testKey(9))}}), true, codes.PermissionDenied, "governance key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.gov {
				_, err = s.registry.ApplyGovernance(ctx, &akashiv1.ApplyGovernanceRequest{Statement: tc.ss})
			} else {
				_, err = s.client.AppendRecord(ctx, &akashiv1.AppendRecordRequest{Statement: tc.ss})
			}
			if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.msg) {
				t.Errorf("got %v, want %v naming %q", err, tc.code, tc.msg)
			}
			if got := s.size(); got != size {
				t.Errorf("log size %d after a refusal, want %d", got, size)
			}
		})
	}
	// A resubmission of the same bytes is a safe retry: the original receipt.
	resp, err := s.client.AppendRecord(ctx, &akashiv1.AppendRecordRequest{Statement: lastOK})
	if err != nil || !resp.GetDuplicate() || resp.GetReceipt().GetIndex() != size-1 {
		t.Fatalf("resubmission = %v, %v; want the original receipt of %d", resp, err, size-1)
	}
	checkReceipt(t, s.verifier, resp.GetReceipt(), payloadOf(lastOK))
	if s.size() != size {
		t.Fatal("a resubmission changed the log")
	}
	// The registry over REST: Tokyo with its revoked key.
	var a struct {
		Agency struct {
			Keys []struct {
				KeyId   string
				Revoked bool
			}
		}
	}
	if code, body := s.get("/v1/agencies/"+tokyoID, &a); code != 200 || len(a.Agency.Keys) != 2 || !a.Agency.Keys[1].Revoked {
		t.Fatalf("GET /v1/agencies/%s = %d %s", tokyoID, code, body)
	}
	replay(t, s)
}

// TestManySignersAtOnce appends from many keys of several agencies at once
// and replays the log: every per-signer chain is intact.
func TestManySignersAtOnce(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := t.Context()
	gov, err := resume(ctx, s.registry, s.gov, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	const keys, each = 12, 60
	var signers []*chainSigner
	for i := range keys {
		agency := []string{tokyoID, osakaID}[i%2]
		k := testKey(byte(40 + i))
		if _, err := gov.governance(ctx, s.registry, registerKey(agency, k)); err != nil {
			t.Fatal(err)
		}
		signers = append(signers, &chainSigner{key: k, origin: testOrigin})
	}
	var wg sync.WaitGroup
	for i, c := range signers {
		agency := []string{tokyoID, osakaID}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each signer streams its statements in order; the server keeps
			// that order while other streams interleave.
			stream, err := s.client.AppendRecords(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			go func() {
				for j := range each {
					ss, _ := c.sign(decision(agency, fmt.Sprintf("k%d-r%d", i, j)))
					stream.Send(&akashiv1.AppendRecordsRequest{Statement: ss})
				}
				stream.CloseSend()
			}()
			for range each {
				resp, err := stream.Recv()
				if err != nil {
					t.Error(err)
					return
				}
				if resp.GetErrorCode() != 0 {
					t.Errorf("signer %d: %s", i, resp.GetErrorMessage())
				}
			}
		}()
	}
	wg.Wait()
	m := replay(t, s)
	for _, c := range signers {
		sg, _ := m.Signer(record.KeyID(c.key.Public().(ed25519.PublicKey)))
		if sg.Sequence != each {
			t.Errorf("signer %s ended at sequence %d, want %d", record.KeyID(c.key.Public().(ed25519.PublicKey)), sg.Sequence, each)
		}
	}
}
