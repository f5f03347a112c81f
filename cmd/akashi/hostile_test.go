// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// TestHostileInput sends what an attacker would and checks each gets a
// clear error, the server stays up, and nothing is stored.
func TestHostileInput(t *testing.T) {
	dir := t.TempDir()
	addrs, _ := runServe(t, serveConfig{DataDir: dir, readHeaderTimeout: 300 * time.Millisecond})
	conn, err := grpc.NewClient(addrs[0].String(), grpc.WithTransportCredentials(insecureCreds()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := akashiv1.NewLedgerServiceClient(conn)
	base := "http://" + addrs[1].String()
	size := func() uint64 {
		info, err := client.GetLogInfo(context.Background(), &akashiv1.GetLogInfoRequest{})
		if err != nil {
			t.Fatalf("the server is down: %v", err)
		}
		return info.GetSize()
	}
	before := size()

	// gRPC.
	invalidUTF8 := protowire.AppendTag(nil, 10, protowire.BytesType)
	invalidUTF8 = protowire.AppendBytes(invalidUTF8, protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte{0xff, 0xfe, 'x'}))
	invalidUTF8 = append(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1), invalidUTF8...)
	for _, tc := range []struct {
		name string
		ss   *akashiv1.SignedStatement
		code codes.Code
	}{
		{"message over the size limit", &akashiv1.SignedStatement{Statement: make([]byte, 4<<20), KeyId: "0123456789abcdef", Signature: make([]byte, 64)}, codes.ResourceExhausted},
		{"invalid UTF-8 in a string", &akashiv1.SignedStatement{Statement: invalidUTF8, KeyId: "0123456789abcdef", Signature: make([]byte, 64)}, codes.InvalidArgument},
		{"deeply nested garbage", &akashiv1.SignedStatement{Statement: []byte(strings.Repeat("\x52\x80\x80\x04", 4000)), KeyId: "0123456789abcdef", Signature: make([]byte, 64)}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.AppendRecord(t.Context(), &akashiv1.AppendRecordRequest{Statement: tc.ss})
			if status.Code(err) != tc.code {
				t.Errorf("AppendRecord = %v, want %v", err, tc.code)
			}
		})
	}

	// HTTP.
	deep := strings.Repeat(`{"statement":`, 20000) + "1" + strings.Repeat("}", 20000)
	for _, tc := range []struct {
		name, method, path, body string
		header                   http.Header
		code                     int
	}{
		{"body over the limit", "POST", "/v1/records", `{"statement":{"statement":"` + strings.Repeat("A", 2<<20) + `"}}`, nil, 400},
		{"deeply nested JSON", "POST", "/v1/records", deep, nil, 400},
		{"invalid UTF-8 in JSON", "POST", "/v1/records", "{\"statement\":{\"keyId\":\"\xff\xfe\"}}", nil, 400},
		{"headers over the limit", "GET", "/v1/log", "", http.Header{"X-Junk": {strings.Repeat("j", 100<<10)}}, 431},
		{"absurd index", "GET", "/v1/entries/18446744073709551615", "", nil, 400},
		{"index overflowing uint64", "GET", "/v1/entries/184467440737095516150", "", nil, 400},
		{"absurd tree size", "GET", "/v1/proofs/inclusion?index=0&tree_size=18446744073709551615", "", nil, 400},
		{"negative page size", "GET", "/v1/entries?page_size=-1", "", nil, 400},
		{"tile level out of range", "GET", "/tile/64/000", "", nil, 400},
		{"tile index overflowing", "GET", "/tile/0/x999/x999/x999/x999/x999/x999/999", "", nil, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.code)
			}
		})
	}

	// A slow client that never finishes its headers is cut off.
	t.Run("slow client", func(t *testing.T) {
		c, err := net.Dial("tcp", addrs[1].String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /v1/log HTTP/1.1\r\nHost: x\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = bufio.NewReader(c).ReadString('\n')
		if err == nil && time.Since(start) > 4*time.Second {
			t.Fatal("the server kept a connection without headers open")
		}
	})
	if got := size(); got != before {
		t.Fatalf("hostile input changed the log: size %d, want %d", got, before)
	}
}
