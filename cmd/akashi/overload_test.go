// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
)

// TestOverloadSheds floods the server far beyond what it commits — a
// small queue, and for a while a sequencer held still, make "far beyond"
// certain in a test on any machine: it must answer ResourceExhausted over
// gRPC and 429 with Retry-After over REST instead of queueing, and take
// appends again once the flood stops.
func TestOverloadSheds(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the server")
	}
	dir := t.TempDir()
	var stalled atomic.Bool
	release := make(chan struct{})
	addrs, _ := runServe(t, serveConfig{
		DataDir: dir, RateLimit: 1e9, RateBurst: 1e9,
		ledgerOptions: func(o *ledger.Options) {
			o.MaxPending = 64 // a tight queue: the flood overruns it at once
			o.MaxQueueDelay = time.Millisecond
			o.Now = func() time.Time {
				if stalled.Load() {
					<-release // the disk is "slow": the sequencer waits
				}
				return time.Now()
			}
		},
	})
	conn, err := grpc.NewClient(addrs[0].String(), grpc.WithTransportCredentials(insecureCreds()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client, reg := akashiv1.NewLedgerServiceClient(conn), akashiv1.NewRegistryServiceClient(conn)
	gov, err := resume(t.Context(), reg, readGov(t, dir), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	const keys = 200
	var signers []*chainSigner
	for i := range keys {
		k := testKey(byte(i))
		k[2] = byte(i >> 8)
		if _, err := gov.governance(t.Context(), reg, registerKey(tokyoID, k)); err != nil {
			t.Fatal(err)
		}
		signers = append(signers, &chainSigner{key: k, origin: testOrigin})
	}
	restSigner := &chainSigner{key: testKey(250), origin: testOrigin}
	if _, err := gov.governance(t.Context(), reg, registerKey(osakaID, restSigner.key)); err != nil {
		t.Fatal(err)
	}
	var ok, shed atomic.Int64
	stalled.Store(true)
	flood, stopFlood := context.WithTimeout(context.Background(), 3*time.Second)
	defer stopFlood()
	var wg sync.WaitGroup
	for i, c := range signers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ss *akashiv1.SignedStatement
			for n := 0; flood.Err() == nil; {
				if ss == nil {
					ss, _ = c.sign(decision(tokyoID, fmt.Sprintf("flood-%d-%d", i, n)))
					n++
				}
				_, err := client.AppendRecord(flood, &akashiv1.AppendRecordRequest{Statement: ss})
				switch status.Code(err) {
				case codes.OK:
					ok.Add(1)
					ss = nil
				case codes.ResourceExhausted:
					shed.Add(1) // retry the same statement: its sequence is still next
				case codes.Canceled, codes.DeadlineExceeded:
				default:
					t.Errorf("AppendRecord under overload = %v", err)
					return
				}
			}
		}()
	}
	// Meanwhile, over REST: 429 with Retry-After when the log sheds load.
	var got429 atomic.Bool
	restSS, _ := restSigner.sign(decision(osakaID, "rest-1"))
	body, _ := protojson.Marshal(&akashiv1.AppendRecordRequest{Statement: restSS})
	// Once the gRPC flood is being shed, the queue is full: a REST append
	// then cannot be admitted (and a client timeout keeps one that was from
	// waiting for the held sequencer).
	for shed.Load() == 0 && flood.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	for flood.Err() == nil && !got429.Load() {
		resp, err := hc.Post("http://"+addrs[1].String()+"/v1/records", "application/json", bytes.NewReader(body))
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			if resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			got429.Store(true)
		case http.StatusOK:
			// Appended between two waves: sign the next one.
			restSS, _ = restSigner.sign(decision(osakaID, fmt.Sprintf("rest-%d", restSigner.seq+1)))
			body, _ = protojson.Marshal(&akashiv1.AppendRecordRequest{Statement: restSS})
		default:
			t.Errorf("POST /v1/records under overload = %d", resp.StatusCode)
		}
	}
	stalled.Store(false)
	close(release)
	wg.Wait()
	t.Logf("under the flood: %d appended, %d shed with ResourceExhausted", ok.Load(), shed.Load())
	if shed.Load() == 0 || ok.Load() == 0 {
		t.Fatalf("%d appended, %d shed: want both", ok.Load(), shed.Load())
	}
	if !got429.Load() {
		t.Error("REST never answered 429")
	}
	// The flood is over: once the appends it had admitted are committed
	// (the sequencer was held, so they take a moment), the server takes
	// appends again by itself. A client retries what is shed meanwhile,
	// with the same statement (its sequence number is still next).
	start := time.Now()
	untilAdmitted := func(what string, call func() error) {
		t.Helper()
		for {
			err := call()
			if status.Code(err) != codes.ResourceExhausted || time.Since(start) > 10*time.Second {
				if err != nil {
					t.Fatalf("%s after the flood = %v", what, err)
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	after := &chainSigner{key: testKey(251), origin: testOrigin}
	register, err := gov.sign(&akashiv1.Statement{Body: &akashiv1.Statement_Governance{Governance: registerKey(tokyoID, after.key)}})
	if err != nil {
		t.Fatal(err)
	}
	untilAdmitted("governance", func() error {
		_, err := reg.ApplyGovernance(t.Context(), &akashiv1.ApplyGovernanceRequest{Statement: register})
		return err
	})
	ss, _ := after.sign(decision(tokyoID, "after-the-flood"))
	untilAdmitted("AppendRecord", func() error {
		_, err := client.AppendRecord(t.Context(), &akashiv1.AppendRecordRequest{Statement: ss})
		return err
	})
	t.Logf("appends taken again %v after the flood", time.Since(start).Round(time.Millisecond))
}
