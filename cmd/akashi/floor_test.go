// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
)

// BenchmarkAppendFloor is BenchmarkSignedAppendsGRPC's yardstick: the
// least that any server built on this stack does for a durable signed
// append. The same client streams the same pre-signed statements to a
// stand-in service that receives them (gRPC), verifies their signatures in
// batches (record.BatchVerifier, as the server does), writes each
// statement and an index key of its hash to Badger in synced batches (the
// log's Badger options), and answers. It keeps no registry, chains, Merkle
// tree, receipts or search index. Its ratio to the machine's Ed25519
// verification rate bounds the one the real server can reach here.
func BenchmarkAppendFloor(b *testing.B) {
	const keys = 32
	bo := badger.DefaultOptions(b.TempDir()).
		WithSyncWrites(true).WithDetectConflicts(false).WithNumVersionsToKeep(1).
		WithMemTableSize(ledger.DefaultMemTableSize).WithNumMemtables(ledger.DefaultNumMemtables).
		WithBlockCacheSize(ledger.DefaultBlockCacheSize).WithIndexCacheSize(ledger.DefaultIndexCacheSize).
		WithValueThreshold(ledger.DefaultValueThreshold).WithValueLogFileSize(ledger.DefaultValueLogFileSize).
		WithNumCompactors(2).WithMetricsEnabled(false).WithLogger(nil)
	bo.Compression = options.None
	db, err := badger.Open(bo)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	f := &floorService{keys: map[string]ed25519.PublicKey{}, in: make(chan *floorAppend, 4096)}
	var signKeys []ed25519.PrivateKey
	for i := range keys {
		k := testKey(byte(100 + i))
		pub := k.Public().(ed25519.PublicKey)
		f.keys[record.KeyID(pub)] = pub
		signKeys = append(signKeys, k)
	}
	committed := make(chan struct{})
	go func() { defer close(committed); f.commit(db) }()
	defer func() { close(f.in); <-committed }()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	gs := grpc.NewServer()
	akashiv1.RegisterLedgerServiceServer(gs, f)
	served := make(chan struct{})
	go func() { defer close(served); gs.Serve(lis) }()
	defer func() { gs.Stop(); <-served }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecureCreds()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()

	statements, size := presign(b, signKeys)
	b.ResetTimer()
	rate := streamAll(b, akashiv1.NewLedgerServiceClient(conn), statements)
	b.StopTimer()
	verifyRate := ed25519Rate()
	b.ReportMetric(rate, "appends/s")
	b.ReportMetric(verifyRate, "ed25519-verify/s")
	b.ReportMetric(rate/verifyRate, "ratio")
	b.ReportMetric(float64(size), "statement-bytes")
}

// floorService is BenchmarkAppendFloor's stand-in for the server.
type floorService struct {
	akashiv1.UnimplementedLedgerServiceServer
	keys map[string]ed25519.PublicKey // read-only while serving
	in   chan *floorAppend            // to commit
}

type floorAppend struct {
	statement []byte
	done      chan error
}

const (
	floorBatch  = 64   // the most signatures verified at once, as in the server
	floorCommit = 4096 // the most statements committed at once
)

func (f *floorService) AppendRecords(stream akashiv1.LedgerService_AppendRecordsServer) error {
	ctx := stream.Context()
	recv := make(chan *akashiv1.SignedStatement, floorBatch)
	recvErr := make(chan error, 1)
	go func() { // ends with the stream
		defer close(recv)
		for {
			r, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case recv <- r.GetStatement():
			case <-ctx.Done():
				return
			}
		}
	}()
	// Answers go out in order as their batches become durable, while the
	// next statements are verified.
	answers := make(chan *floorAppend, 1024)
	sendErr := make(chan error, 1)
	go func() {
		var pos uint64
		for a := range answers {
			if err := <-a.done; err != nil {
				sendErr <- status.Errorf(codes.Unavailable, "writing: %v", err)
				return
			}
			if err := stream.Send(&akashiv1.AppendRecordsResponse{Position: pos}); err != nil {
				sendErr <- err
				return
			}
			pos++
		}
		sendErr <- nil
	}()
	err := f.verifyAndSubmit(ctx, recv, answers)
	close(answers)
	if serr := <-sendErr; err == nil {
		err = serr
	}
	if err != nil {
		return err // the stream's end stops the receiving goroutine
	}
	select {
	case err = <-recvErr:
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// verifyAndSubmit verifies what arrives in batches and hands each
// statement to the committer and to the answering goroutine.
func (f *floorService) verifyAndSubmit(ctx context.Context, recv <-chan *akashiv1.SignedStatement, answers chan<- *floorAppend) error {
	for ss := range recv {
		batch := []*akashiv1.SignedStatement{ss}
	more:
		for len(batch) < floorBatch {
			select {
			case s, ok := <-recv:
				if !ok {
					break more
				}
				batch = append(batch, s)
			default:
				break more
			}
		}
		bv := record.NewBatchVerifier(testOrigin)
		for _, s := range batch {
			bv.Add(f.keys[s.GetKeyId()], s)
		}
		for i, err := range bv.Verify() {
			if err != nil {
				return status.Errorf(codes.Unauthenticated, "statement %d: %v", i, err)
			}
		}
		for _, s := range batch {
			a := &floorAppend{statement: s.GetStatement(), done: make(chan error, 1)}
			select {
			case f.in <- a:
			case <-ctx.Done():
				return ctx.Err()
			}
			answers <- a
		}
	}
	return nil
}

// commit writes what arrives, as much as is waiting at once, in synced
// Badger batches: each statement under its index, and its hash.
func (f *floorService) commit(db *badger.DB) {
	var index uint64
	for a := range f.in {
		batch := []*floorAppend{a}
	more:
		for len(batch) < floorCommit {
			select {
			case x, ok := <-f.in:
				if !ok {
					break more
				}
				batch = append(batch, x)
			default:
				break more
			}
		}
		wb := db.NewWriteBatch()
		var err error
		for _, x := range batch {
			k := binary.BigEndian.AppendUint64([]byte{'e'}, index)
			h := sha256.Sum256(x.statement)
			if err = wb.Set(k, x.statement); err != nil {
				break
			}
			if err = wb.Set(append([]byte{'h'}, h[:]...), k[1:]); err != nil {
				break
			}
			index++
		}
		if err == nil {
			err = wb.Flush()
		} else {
			wb.Cancel()
		}
		for _, x := range batch {
			x.done <- err
		}
	}
}
