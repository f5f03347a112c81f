// SPDX-License-Identifier: Apache-2.0

package server

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// ServeLoopback serves gs on a loopback port and dials it, for the tests
// of this package and of server_test. stop closes the connection, then
// stops gs; callers order it among their own cleanups.
func ServeLoopback(t testing.TB, gs *grpc.Server) (conn *grpc.ClientConn, stop func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(lis)
	conn, err = grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		gs.Stop()
		t.Fatal(err)
	}
	return conn, func() {
		conn.Close()
		gs.Stop()
	}
}
