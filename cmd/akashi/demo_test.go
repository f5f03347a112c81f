// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/server/demo"
)

// TestLoadDemoCompletes checks that --demo completes a demo that an earlier
// start left unfinished (stopped or killed while loading it), wherever it
// stopped, into the same log a start that was never interrupted makes;
// that it leaves a complete demo alone; and that it never writes into a
// log that holds no demo key.
func TestLoadDemoCompletes(t *testing.T) {
	const disbursements = demo.MinDisbursements + 10
	ds, err := demo.Generate(demo.Options{Origin: testOrigin, Seed: 2020, Disbursements: disbursements})
	if err != nil {
		t.Fatal(err)
	}
	size := func(s *testServer) uint64 {
		t.Helper()
		info, err := s.client.GetLogInfo(t.Context(), &akashiv1.GetLogInfoRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return info.GetSize()
	}
	load := func(s *testServer) string {
		t.Helper()
		var out bytes.Buffer
		if err := loadDemo(t.Context(), s.conn, s.gov, testOrigin, disbursements, &out); err != nil {
			t.Fatalf("loadDemo: %v\n%s", err, out.String())
		}
		return out.String()
	}
	send := func(s *testServer, statements []*akashiv1.SignedStatement) {
		t.Helper()
		for _, ss := range statements {
			if _, err := s.client.AppendRecord(t.Context(), &akashiv1.AppendRecordRequest{Statement: ss}); err != nil {
				t.Fatalf("appending a demo record: %v", err)
			}
		}
	}

	// The log of a start that was never interrupted.
	whole := startServer(t, t.TempDir())
	if out := load(whole); !strings.Contains(out, "appended") {
		t.Fatalf("first load said %q", out)
	}
	full := size(whole)
	if want := uint64(1 + len(ds.Agencies) + len(ds.Records)); full != want {
		t.Fatalf("a whole demo has %d entries, want %d", full, want)
	}
	if out := load(whole); !strings.Contains(out, "holds the whole demo") || size(whole) != full {
		t.Errorf("loading again said %q and left %d entries, want %d", out, size(whole), full)
	}

	for _, tc := range []struct {
		name    string
		prepare func(s *testServer) // what the interrupted start did
	}{
		{"one key registered", func(s *testServer) {
			one := *ds
			one.Agencies = ds.Agencies[:1]
			s.register(&one)
		}},
		{"every key, no record", func(s *testServer) { s.register(ds) }},
		{"every key, a third of the records", func(s *testServer) {
			s.register(ds)
			send(s, ds.Records[:len(ds.Records)/3])
		}},
		{"all but the last record", func(s *testServer) {
			s.register(ds)
			send(s, ds.Records[:len(ds.Records)-1])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, t.TempDir())
			tc.prepare(s)
			before := size(s)
			out := load(s)
			if !strings.Contains(out, "completing the demo") {
				t.Errorf("load said %q, want it to complete the demo", out)
			}
			if got := size(s); got != full {
				t.Fatalf("the completed demo has %d entries (%d before), want %d as in a whole one\n%s", got, before, full, out)
			}
			if !strings.Contains(out, "(0 refused)") {
				t.Errorf("records refused while completing:\n%s", out)
			}
			if out := load(s); !strings.Contains(out, "holds the whole demo") || size(s) != full {
				t.Errorf("loading again said %q", out)
			}
			// Every signature, sequence and per-key chain holds.
			replay(t, s)
		})
	}

	// A demo made with other options (more or fewer disbursements) is a
	// different dataset under the same keys: left alone, not "completed".
	for _, n := range []int{disbursements + 5, disbursements - 5} {
		t.Run(fmt.Sprintf("another demo of %d disbursements", n), func(t *testing.T) {
			s := startServer(t, t.TempDir())
			var out bytes.Buffer
			if err := loadDemo(t.Context(), s.conn, s.gov, testOrigin, n, &out); err != nil {
				t.Fatal(err)
			}
			before := size(s)
			if out := load(s); !strings.Contains(out, "holds another demo dataset") || size(s) != before {
				t.Errorf("load said %q and left %d entries, want %d", out, size(s), before)
			}
		})
	}

	t.Run("not a demo log", func(t *testing.T) {
		s := startServer(t, t.TempDir())
		gs, err := resume(t.Context(), s.registry, s.gov, testOrigin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gs.governance(t.Context(), s.registry, registerKey(tokyoID, testKey(7))); err != nil {
			t.Fatal(err)
		}
		before := size(s)
		if out := load(s); !strings.Contains(out, "holds no demo key") || size(s) != before {
			t.Errorf("load said %q and left %d entries, want %d", out, size(s), before)
		}
	})
}
