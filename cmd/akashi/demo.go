// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"

	"google.golang.org/grpc"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/server/demo"
)

// loadDemo fills an empty log with the demo dataset, through the gRPC API
// so that every record passes the same checks as any other.
func loadDemo(ctx context.Context, conn *grpc.ClientConn, gov ed25519.PrivateKey, origin string, disbursements int, l *ledger.Log, out io.Writer) error {
	if l.Size() > 1 {
		fmt.Fprintf(out, "demo: the log is not empty (%d entries); leaving it as it is\n", l.Size())
		return nil
	}
	ds, err := demo.Generate(demo.Options{Origin: origin, Seed: 2020, Disbursements: disbursements})
	if err != nil {
		return err
	}
	// Register the demo agencies' keys, as an operator would.
	reg := akashiv1.NewRegistryServiceClient(conn)
	gs, err := resume(ctx, reg, gov, origin)
	if err != nil {
		return err
	}
	for _, a := range ds.Agencies {
		_, err := gs.governance(ctx, reg, &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{
			Agency: a.Org, PublicKey: a.Key.Public().(ed25519.PublicKey), Label: a.Label,
		}}})
		if err != nil {
			return fmt.Errorf("registering %s: %w", a.Org.GetId(), err)
		}
	}
	fmt.Fprintf(out, "demo: registered %d agency keys\n", len(ds.Agencies))
	stream, err := akashiv1.NewLedgerServiceClient(conn).AppendRecords(ctx)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		for _, st := range ds.Records {
			if err := stream.Send(&akashiv1.AppendRecordsRequest{Statement: st}); err != nil {
				errc <- err
				return
			}
		}
		errc <- stream.CloseSend()
	}()
	refused := 0
	for range ds.Records {
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
	fmt.Fprintf(out, "demo: appended %d records (%d refused); the log has %d entries\n", len(ds.Records)-refused, refused, l.Size())
	return nil
}
