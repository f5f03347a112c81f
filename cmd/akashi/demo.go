// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/server/demo"
)

// loadDemo fills an empty log with the demo dataset, through the gRPC API
// so that every record passes the same checks as any other. A log that an
// earlier start left with part of the demo (stopped or killed while
// loading it) is completed: each demo key's chain is taken up where the
// log says it stands. A log that holds none of the demo's keys is left as
// it is.
func loadDemo(ctx context.Context, conn *grpc.ClientConn, gov ed25519.PrivateKey, origin string, disbursements int, out io.Writer) error {
	ledgerc := akashiv1.NewLedgerServiceClient(conn)
	info, err := ledgerc.GetLogInfo(ctx, &akashiv1.GetLogInfoRequest{})
	if err != nil {
		return err
	}
	ds, err := demo.Generate(demo.Options{Origin: origin, Seed: 2020, Disbursements: disbursements})
	if err != nil {
		return err
	}
	reg := akashiv1.NewRegistryServiceClient(conn)
	done, todo, other, err := demoProgress(ctx, reg, ds)
	if err != nil {
		return err
	}
	if other {
		fmt.Fprintf(out, "demo: the log holds another demo dataset (%d entries; was it made with other --demo-disbursements?); leaving it as it is\n", info.GetSize())
		return nil
	}
	switch {
	case info.GetSize() > 1 && len(done) == 0:
		fmt.Fprintf(out, "demo: the log is not empty (%d entries) and holds no demo key; leaving it as it is\n", info.GetSize())
		return nil
	case len(done) == len(ds.Agencies) && len(todo) == 0:
		fmt.Fprintf(out, "demo: the log holds the whole demo (%d entries)\n", info.GetSize())
		return nil
	case len(done) > 0:
		fmt.Fprintf(out, "demo: completing the demo an earlier start left unfinished (%d of %d keys registered, %d of %d records to append)\n",
			len(done), len(ds.Agencies), len(todo), len(ds.Records))
	}
	// Register the demo agencies' keys, as an operator would.
	gs, err := resume(ctx, reg, gov, origin)
	if err != nil {
		return err
	}
	registered := 0
	for _, a := range ds.Agencies {
		if _, ok := done[record.KeyID(a.Key.Public().(ed25519.PublicKey))]; ok {
			continue
		}
		_, err := gs.governance(ctx, reg, &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{
			Agency: a.Org, PublicKey: a.Key.Public().(ed25519.PublicKey), Label: a.Label,
		}}})
		if err != nil {
			return fmt.Errorf("registering %s: %w", a.Org.GetId(), err)
		}
		registered++
	}
	if registered > 0 {
		fmt.Fprintf(out, "demo: registered %d agency keys\n", registered)
	}
	stream, err := ledgerc.AppendRecords(ctx)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		for _, st := range todo {
			if err := stream.Send(&akashiv1.AppendRecordsRequest{Statement: st}); err != nil {
				errc <- err
				return
			}
		}
		errc <- stream.CloseSend()
	}()
	refused := 0
	for range todo {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if resp.GetErrorCode() != 0 {
			refused++
			if refused <= 5 {
				fmt.Fprintf(out, "demo: record %d refused: %s\n", resp.GetPosition(), resp.GetErrorMessage())
			}
		}
	}
	if err := <-errc; err != nil {
		return err
	}
	if info, err = ledgerc.GetLogInfo(ctx, &akashiv1.GetLogInfoRequest{}); err != nil {
		return err
	}
	fmt.Fprintf(out, "demo: appended %d records (%d refused); the log has %d entries\n", len(todo)-refused, refused, info.GetSize())
	return nil
}

// demoProgress reads where the log stands with the demo dataset ds. done
// maps each registered demo key to the last sequence number the log holds
// for it; todo are the records still to append, in order; other reports
// that the demo keys' chains in the log are not ds's (a demo made with
// other options).
func demoProgress(ctx context.Context, reg akashiv1.RegistryServiceClient, ds *demo.Dataset) (done map[string]uint64, todo []*akashiv1.SignedStatement, other bool, err error) {
	done, last := map[string]uint64{}, map[string][]byte{}
	for _, a := range ds.Agencies {
		id := record.KeyID(a.Key.Public().(ed25519.PublicKey))
		resp, err := reg.GetSigner(ctx, &akashiv1.GetSignerRequest{KeyId: id})
		if status.Code(err) == codes.NotFound {
			continue
		}
		if err != nil {
			return nil, nil, false, fmt.Errorf("reading where demo key %s stands: %w", id, err)
		}
		done[id], last[id] = resp.GetSequence(), resp.GetLastStatementHash()
	}
	lastSeq := map[string]uint64{}
	for _, ss := range ds.Records {
		var st akashiv1.Statement
		if err := proto.Unmarshal(ss.GetStatement(), &st); err != nil {
			return nil, nil, false, fmt.Errorf("demo statement of key %s: %w", ss.GetKeyId(), err)
		}
		id, n := ss.GetKeyId(), st.GetSequence()
		seq, ok := done[id]
		if ok && n == seq {
			// The log's last statement of this key must be this one.
			if h := record.StatementHash(ss.GetStatement()); !bytes.Equal(h[:], last[id]) {
				return done, nil, true, nil
			}
		}
		if !ok || n > seq {
			todo = append(todo, ss)
		}
		lastSeq[id] = n
	}
	for id, seq := range done {
		if seq > lastSeq[id] {
			return done, nil, true, nil
		}
	}
	return done, todo, false, nil
}
