// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchAgainstServer builds akashi, serves a log on ephemeral loopback
// ports and runs the load tool against it briefly in each mode.
func TestBenchAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "akashi")
	if out, err := exec.Command("go", "build", "-o", bin, "../akashi").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--data", data, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--read-rate-limit", "100000", "--read-rate-burst", "100000")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var grpcAddr, httpURL string
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && (grpcAddr == "" || httpURL == "") {
		line := strings.TrimSpace(lines.Text())
		if a, ok := strings.CutPrefix(line, "gRPC:"); ok {
			grpcAddr = strings.TrimSpace(a)
		}
		if a, ok := strings.CutPrefix(line, "REST:"); ok {
			httpURL = strings.TrimSuffix(strings.TrimSpace(a), "/v1/log")
		}
	}
	go io.Copy(io.Discard, stdout)
	for _, tc := range []struct{ mode, kind, reads string }{
		{"stream", "decision", "mix"}, {"unary", "disbursement", "mix"}, {"read", "", "proofs"}, {"read", "", "queries"},
	} {
		mode := tc.mode
		t.Run(mode+"/"+tc.reads, func(t *testing.T) {
			jsonOut := filepath.Join(dir, mode+tc.reads+".json")
			var out, errOut bytes.Buffer
			args := []string{"-grpc", grpcAddr, "-http", httpURL, "-mode", mode, "-duration", "1500ms", "-agencies", "4",
				"-readers", "2", "-max-rate", "2000", "-json", jsonOut, "-reads", tc.reads}
			if tc.kind != "" {
				args = append(args, "-kind", tc.kind)
			} else {
				args = append(args, "-cpuprofile", filepath.Join(dir, "read.prof"))
			}
			if mode != "read" {
				args = append(args, "-governance-key", filepath.Join(data, "governance.key"))
			}
			if err := run(t.Context(), args, &out, &errOut); err != nil {
				t.Fatalf("run: %v\n%s", err, errOut.String())
			}
			var res results
			b, err := os.ReadFile(jsonOut)
			if err != nil || json.Unmarshal(b, &res) != nil {
				t.Fatalf("reading %s: %v", jsonOut, err)
			}
			if mode != "read" && (res.Admitted == nil || res.Admitted.P99ms <= 0 || res.Admitted.P50ms > res.Appends.P50ms) {
				t.Fatalf("no admitted latency, or above the scheduled one: %+v vs %+v", res.Admitted, res.Appends)
			}
			if mode != "read" && (res.Appends == nil || res.Appends.OK == 0 || res.Appends.P99ms <= 0) {
				t.Fatalf("no appends measured: %s", out.String())
			}
			// Shedding under a busy machine is allowed; refusing the
			// records themselves is not, nor cutting off those in flight
			// when the time is up (they are drained, not cancelled).
			for code := range appendErrors(res) {
				if code != "ResourceExhausted" && code != "Unavailable" {
					t.Fatalf("-kind %s: appends refused: %v\n%s", tc.kind, res.Appends.Errors, out.String())
				}
			}
			if res.PeakRSSMiB <= 0 {
				t.Fatalf("no RSS measured: %s", out.String())
			}
			// The log's reads and the queries each have their row; a
			// query of the log the load tool writes must succeed.
			if tc.reads != "queries" && (res.Reads == nil || res.Reads.OK == 0) {
				t.Fatalf("-reads %s: no reads measured: %s", tc.reads, out.String())
			}
			if tc.reads != "proofs" && (res.Queries == nil || res.Queries.OK == 0 || len(res.Queries.Errors) > 0) {
				t.Fatalf("-reads %s: no queries measured, or queries failed: %+v\n%s", tc.reads, res.Queries, out.String())
			}
			if tc.reads == "proofs" && res.Queries != nil || tc.reads == "queries" && res.Reads != nil {
				t.Fatalf("-reads %s: measured what it was not asked to: reads %+v, queries %+v", tc.reads, res.Reads, res.Queries)
			}
			if mode == "read" && res.Reads != nil && len(res.Reads.Errors) > 0 {
				t.Fatalf("-reads proofs: reads failed: %v\n%s", res.Reads.Errors, out.String())
			}
			if mode == "read" {
				// A pprof profile is gzipped.
				if b, err := os.ReadFile(filepath.Join(dir, "read.prof")); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
					t.Fatalf("-cpuprofile wrote no profile: %d bytes, %v", len(b), err)
				}
			}
			if !strings.Contains(out.String(), "p99.9 ms") {
				t.Fatalf("no table: %s", out.String())
			}
		})
	}
}

// appendErrors returns the appends' errors by code, none in read mode.
func appendErrors(r results) map[string]uint64 {
	if r.Appends == nil {
		return nil
	}
	return r.Appends.Errors
}
