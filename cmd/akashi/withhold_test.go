// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/query"
	"github.com/akashi-ledger/akashi/server/demo"
)

// TestWithhold withholds a disbursement's payload with the server stopped,
// then checks on the restarted server that the entry says why and serves
// no payload, that the search index rebuilt without it no longer finds it
// by its payee, that its proofs still verify and the whole log still
// audits, and that appends go on.
func TestWithhold(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	ctx := t.Context()
	if err := loadDemo(ctx, s.conn, s.gov, testOrigin, demo.MinDisbursements+10, io.Discard); err != nil {
		t.Fatal(err)
	}
	size := s.size()
	// A disbursement to be withheld, found by its payee.
	var index uint64
	var payee string
	for i := size - 1; i > 0 && payee == ""; i-- {
		e, err := s.client.GetEntry(ctx, &akashiv1.GetEntryRequest{Index: i})
		if err != nil {
			t.Fatal(err)
		}
		if r := e.GetEntry().GetStatement().GetRecord(); r.GetDisbursement() != nil && r.GetTag() == akashiv1.Tag_TAG_NEW {
			index, payee = i, query.PayeeID(r)
		}
	}
	if payee == "" {
		t.Fatal("no disbursement in the demo")
	}
	byPayee := func(size uint64) []uint64 {
		t.Helper()
		qc := akashiv1.NewQueryServiceClient(s.conn) // of the server running now
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			resp, err := qc.SearchRecords(ctx, &akashiv1.SearchRecordsRequest{Payee: []string{payee}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetTreeSize() >= size {
				var got []uint64
				for _, h := range resp.GetHits() {
					got = append(got, h.GetIndex())
				}
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("the search index stays at tree size %d, want %d", resp.GetTreeSize(), size)
			}
		}
	}
	if got := byPayee(size); !slices.Contains(got, index) {
		t.Fatalf("payee %s finds %v, want entry %d among them", payee, got, index)
	}
	// Refused while the server runs: its folder is locked.
	const reason = "court order 2026-123"
	if err := withholdCommand(ctx, []string{"--data", dir, "--reason", reason, strconv.FormatUint(index, 10)}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Errorf("withhold with the server running = %v, want it refused", err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// Refused: bad arguments, no log.
	for _, args := range [][]string{
		{"--data", dir, strconv.FormatUint(index, 10)},
		{"--data", dir, "--reason", reason},
		{"--data", dir, "--reason", reason, "x"},
	} {
		var u usageError
		if err := withholdCommand(ctx, args, io.Discard, io.Discard); !errors.As(err, &u) {
			t.Errorf("withhold %q = %v, want a usage error", args, err)
		}
	}
	if err := withholdCommand(ctx, []string{"--data", t.TempDir(), "--reason", reason, "1"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no log in") {
		t.Errorf("withhold in an empty folder = %v, want no log", err)
	}
	var out bytes.Buffer
	if err := withholdCommand(ctx, []string{"--data", dir, "--reason", reason, strconv.FormatUint(index, 10)}, &out, io.Discard); err != nil {
		t.Fatalf("withhold: %v", err)
	}
	if !strings.Contains(out.String(), "payload withheld") {
		t.Errorf("withhold printed %q", out.String())
	}
	// Refused: the same entry again; a governance statement (entry 1
	// registers a demo key), which every auditor's registry replay needs.
	for _, tc := range []struct{ index, want string }{
		{strconv.FormatUint(index, 10), "already withheld"},
		{"1", "governance statement"},
	} {
		err := withholdCommand(ctx, []string{"--data", dir, "--reason", reason, tc.index}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("withhold %s = %v, want %q", tc.index, err, tc.want)
		}
	}

	s = startServer(t, dir)
	e, err := s.client.GetEntry(ctx, &akashiv1.GetEntryRequest{Index: index})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.GetEntry(); got.GetWithheldReason() != reason || len(got.GetPayload()) != 0 || got.GetStatement() != nil {
		t.Errorf("entry %d after withholding: reason %q, %d payload bytes, statement %v", index, got.GetWithheldReason(), len(got.GetPayload()), got.GetStatement() != nil)
	}
	if got := byPayee(size); slices.Contains(got, index) {
		t.Errorf("payee %s still finds the withheld entry %d: %v", payee, index, got)
	}
	c := newCLI(t, s)
	c.must(0, "proof", "inclusion", "--index", strconv.FormatUint(index, 10))
	if r := c.must(0, "audit"); !strings.Contains(r.stdout, "1 withheld") {
		t.Errorf("audit after withholding:\n%s", r.stdout)
	}
	if err := loadDemo(ctx, s.conn, s.gov, testOrigin, demo.MinDisbursements+10, io.Discard); err != nil {
		t.Fatal(err)
	}
}
