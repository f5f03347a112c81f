// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/akashi-ledger/akashi/client"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger/verify"
)

// TestReceiptOffline saves a receipt, reads it back and verifies it with
// the log's key alone; each altered field fails.
func TestReceiptOffline(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	s := e.agency(tokyoID, "東京都", client.SignerOptions{})
	for i := range 5 { // a tree with some depth
		if _, err := s.Append(ctx, payment(t, "r-"+string(rune('a'+i)), "", 500000)); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := s.Append(ctx, decision(t, tokyoID, "receipt-1"))
	if err != nil {
		t.Fatal(err)
	}
	saved, err := rc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(r *client.Receipt)
		ok     bool
	}{
		{"as saved", func(*client.Receipt) {}, true},
		{"another index", func(r *client.Receipt) { r.Index++ }, false},
		{"a header byte", func(r *client.Receipt) { r.Header[30] ^= 1 }, false},
		{"the leaf hash", func(r *client.Receipt) { r.LeafHash[0] ^= 1 }, false},
		{"the chain hash", func(r *client.Receipt) { r.ChainHash[0] ^= 1 }, false},
		{"a proof hash", func(r *client.Receipt) { r.Proof[0][0] ^= 1 }, false},
		{"no proof", func(r *client.Receipt) { r.Proof = nil }, false},
		{"the checkpoint", func(r *client.Receipt) { r.Checkpoint = r.Checkpoint[:len(r.Checkpoint)-5] + "AAAA\n" }, false},
		{"another log's name", func(r *client.Receipt) { r.Origin = "other.example/log" }, false},
		{"a payload byte", func(r *client.Receipt) { r.Payload[5] ^= 1 }, false},
		{"another signer's key", func(r *client.Receipt) { r.SignerKey = e.srv.Governance.Public().(ed25519.PublicKey) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := client.ParseReceipt(saved)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(r)
			err = r.Verify(e.c.Verifier())
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, client.ErrVerification)) {
				t.Fatalf("Verify = %v, want ok %v", err, tc.ok)
			}
			if tc.ok && (r.TreeSize() <= r.Index || r.ParsedHeader().Index != r.Index) {
				t.Fatalf("verified receipt: tree size %d, header %+v", r.TreeSize(), r.ParsedHeader())
			}
		})
	}
	// The entry, fetched later and proved in a larger tree, gives a receipt
	// that verifies too.
	got, err := e.c.Record(ctx, tokyoID, "receipt-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Receipt(e.c.Origin()).Verify(e.c.Verifier()); err != nil || got.Index != rc.Index {
		t.Fatalf("receipt of the fetched entry: %v", err)
	}
	if _, err := client.ParseReceipt([]byte("{")); !errors.Is(err, verify.ErrMalformed) {
		t.Fatalf("ParseReceipt(garbage) = %v", err)
	}
}

func TestBuilders(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	req, err := client.NewRequest(client.Envelope{ID: "req-1", Publisher: client.Org(tokyoID, "東京都"), RecordedAt: time.Date(2020, 4, 10, 18, 0, 0, 0, jst)}, &akashiv1.Request{
		Direction: akashiv1.RequestDirection_REQUEST_DIRECTION_GOVERNMENT_TO_PUBLIC, Type: akashiv1.RequestType_REQUEST_TYPE_COOPERATION,
		Title: "営業時間短縮の要請", BasisDecision: client.Ref("", "dec-1"), Status: akashiv1.RequestStatus_REQUEST_STATUS_ACTIVE,
	})
	if err != nil {
		t.Fatal(err)
	}
	if req.GetProcessId() != "req-1" || req.GetTag() != akashiv1.Tag_TAG_NEW || req.GetRecordedAt() != "2020-04-10T18:00:00+09:00" {
		t.Fatalf("NewRequest = %v", req)
	}
	amended, err := client.Amend(req, "req-1-a", akashiv1.Tag_TAG_AMENDMENT, "延長", time.Date(2020, 5, 5, 18, 0, 0, 0, jst), func(r *akashiv1.Record) {
		r.GetRequest().Period = &akashiv1.Period{StartDate: "2020-04-11", EndDate: "2020-05-31"}
	})
	if err != nil || amended.GetAmends() != "req-1" || amended.GetProcessId() != "req-1" || req.GetRequest().GetPeriod() != nil {
		t.Fatalf("Amend = %v, %v", amended, err)
	}
	if _, err := client.Amend(req, "req-1-b", akashiv1.Tag_TAG_NEW, "", time.Now(), nil); err == nil {
		t.Error("Amend with TAG_NEW succeeded")
	}
	if _, err := client.NewDisbursement(client.Envelope{ID: "d", Publisher: client.Org(tokyoID, "東京都")}, &akashiv1.Disbursement{}); err == nil {
		t.Error("an empty disbursement with no recorded_at validated")
	}
	p, err := client.NewPersonal(map[string]string{"name": "山田 花子"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := client.RestorePersonal(p.ID, p.Salt, map[string]string{"name": "山田 花子"})
	if err != nil || again.Commitment != p.Commitment {
		t.Fatalf("RestorePersonal = %+v, %v; want the same commitment", again, err)
	}
	if _, err := client.NewPersonal(map[string]string{"Name": "x"}); err == nil {
		t.Error("NewPersonal accepted a bad key")
	}
}
