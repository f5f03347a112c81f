// SPDX-License-Identifier: Apache-2.0

// Package server is Akashi's gRPC API: it decodes and validates what
// agencies append, hands it to the ledger, and serves the log back with
// the proofs that let anyone check it. errors.go is the only place where
// errors become gRPC status codes.
package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/ledger/verify"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/registry"
)

// Limits of the read API.
const (
	// DefaultPageSize is the page size of ListEntries when none is asked for.
	DefaultPageSize = 100
	// MaxPageSize is the largest page ListEntries returns.
	MaxPageSize = 1000
	// MaxVersions is the most versions GetRecord returns for a process: the
	// last ones.
	MaxVersions = 1000
)

// Defaults of Options.
const (
	// DefaultRateLimit is the sustained rate of statements each agency may
	// append, per second.
	DefaultRateLimit = 10000
	// DefaultRateBurst is the burst each agency may append at once.
	DefaultRateBurst = 20000
)

// Options configure a Server.
type Options struct {
	// VerifierKey is the log's checkpoint verifier key in signed-note
	// format, as published by GetLogInfo.
	VerifierKey string
	// RateLimit and RateBurst bound each agency's appends (a token bucket
	// per agency, and one for the governance key); DefaultRateLimit and
	// DefaultRateBurst when zero.
	RateLimit rate.Limit
	RateBurst int
	// Logger receives the server's logs; slog.Default when nil.
	Logger *slog.Logger
}

// Server implements akashiv1.LedgerServiceServer over a ledger.Log.
type Server struct {
	akashiv1.UnimplementedLedgerServiceServer
	log    *ledger.Log
	opts   Options
	slog   *slog.Logger
	limits limiters
	// governed is set once the log has a governance key, and keys holds
	// the registered keys' ids, public keys and agencies (signingKey).
	governed atomic.Bool
	keys     *keyMemo
	// preparing counts the unary appends being checked and verified, not
	// yet in the log's queue (which Log.Admit bounds).
	preparing atomic.Int64
	// sigs verifies the signatures of all calls and streams together.
	sigs *verifier
}

// maxPreparingPerCPU bounds, per CPU, the unary appends being checked and
// verified at once. Far beyond capacity thousands of callers arrive
// together; without this bound each admitted one would wait for the
// signature checks of all the others before it even reached the log's
// queue (~100 µs of CPU each), and admitted latency would grow with the
// number of callers. With it, an admitted append waits a few milliseconds
// here and the rest are shed at once.
const maxPreparingPerCPU = 64

// Hook returns the ledger hook the server needs for the log named origin:
// pass it as ledger.Options.Hook when opening the log the server will serve.
func Hook(origin string) ledger.Hook {
	return indexHook{origin: origin}
}

// New returns a server for l, which must have been opened with Hook. Its
// Close stops the goroutines it starts.
func New(l *ledger.Log, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.RateBurst == 0 {
		opts.RateBurst = DefaultRateBurst
	}
	return &Server{
		log: l, opts: opts, slog: opts.Logger, limits: limiters{m: map[string]*rate.Limiter{}}, keys: newKeyMemo(),
		sigs: newVerifier(l.Origin(), runtime.GOMAXPROCS(0)),
	}
}

// Close stops the server's signature verifiers, once its gRPC server has
// stopped; calls still waiting for a verifier fail. It does not close the
// log.
func (s *Server) Close() { s.sigs.close() }

func (s *Server) status(ctx context.Context, err error) error { return toStatus(ctx, s.slog, err) }

// AppendRecord implements akashiv1.LedgerServiceServer.
func (s *Server) AppendRecord(ctx context.Context, req *akashiv1.AppendRecordRequest) (*akashiv1.AppendRecordResponse, error) {
	payload, p, err := s.prepare(ctx, req.GetStatement(), false)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	rcpt, err := s.log.AppendWith(ctx, payload, p)
	resp, err := s.answer(ctx, rcpt, err)
	return resp, s.status(ctx, err)
}

// MaxStreamInFlight bounds the statements of one AppendRecords stream that
// are submitted to the log and not yet answered.
const MaxStreamInFlight = 512

// AppendRecords implements akashiv1.LedgerServiceServer. Statements are
// submitted to the log in the order they arrive, so a signer's sequence is
// kept, while up to MaxStreamInFlight of them share commits; answers come
// back in the same order. The signatures of statements that arrive
// together are verified together, with those of other callers.
func (s *Server) AppendRecords(stream akashiv1.LedgerService_AppendRecordsServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	type slot struct {
		pos     uint64
		pending *ledger.Pending
		err     error
	}
	slots := make(chan slot, MaxStreamInFlight)
	sent := make(chan error, 1)
	go func() { // answers, in order
		var err error
		for sl := range slots {
			if err != nil {
				continue // drain
			}
			out := &akashiv1.AppendRecordsResponse{Position: sl.pos}
			r, aerr := (*akashiv1.AppendRecordResponse)(nil), sl.err
			if aerr == nil {
				rcpt, werr := sl.pending.Wait(ctx)
				r, aerr = s.answer(ctx, rcpt, werr)
			}
			if aerr != nil {
				code, msg := statusParts(s.status(ctx, aerr))
				out.ErrorCode, out.ErrorMessage = int32(code), msg
			} else {
				out.Receipt, out.Duplicate = r.GetReceipt(), r.GetDuplicate()
			}
			if err = stream.Send(out); err != nil {
				cancel()
			}
		}
		sent <- err
	}()
	reqs := make(chan *akashiv1.AppendRecordsRequest, maxVerifyBatch)
	recvErr := make(chan error, 1)
	go func() { // requests, as they arrive
		defer close(reqs)
		for {
			req, err := stream.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					recvErr <- err
				}
				return
			}
			select {
			case reqs <- req:
			case <-ctx.Done():
				return
			}
		}
	}()
	pos := uint64(0)
	for req := range reqs {
		// Take what else has arrived, and verify the batch's signatures at once.
		batch := []*akashiv1.AppendRecordsRequest{req}
	more:
		for len(batch) < maxVerifyBatch {
			select {
			case r, ok := <-reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		checked := make([]*checked, len(batch))
		errs := make([]error, len(batch))
		var jobs []*sigJob
		var verifying []int
		for i, r := range batch {
			checked[i], errs[i] = s.check(r.GetStatement(), false)
			if errs[i] == nil && checked[i].key != nil {
				jobs = append(jobs, &sigJob{key: checked[i].key, ss: r.GetStatement()})
				verifying = append(verifying, i)
			}
		}
		if err := s.sigs.verify(ctx, jobs); err != nil {
			for _, i := range verifying {
				errs[i] = err
			}
		} else {
			for j, job := range jobs {
				i := verifying[j]
				if job.err != nil {
					errs[i] = fmt.Errorf("%w: %v", registry.ErrBadSignature, job.err)
				} else {
					checked[i].p.verified = checked[i].key
				}
			}
		}
		for i := range batch {
			sl := slot{pos: pos, err: errs[i]}
			pos++
			if sl.err == nil {
				// A stream's statements must reach the log in order: wait
				// while the log pushes back.
				sl.pending, sl.err = s.log.SubmitWait(ctx, checked[i].payload, checked[i].p)
			}
			select {
			case slots <- sl:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(slots)
	if err := <-sent; err != nil {
		return err
	}
	select {
	case err := <-recvErr:
		return err
	default:
	}
	return s.status(ctx, ctx.Err())
}

func (s *Server) preparingLimit() int64 { return int64(maxPreparingPerCPU * runtime.GOMAXPROCS(0)) }

// errPreparingFull is why an append is shed while preparingLimit unary
// appends are being checked.
func (s *Server) errPreparingFull() error {
	return fmt.Errorf("%w: %d statements being verified", ledger.ErrPushback, s.preparingLimit())
}

// TapHandle is for grpc.InTapHandle: it refuses a unary append with
// ResourceExhausted before its request is even read when prepare would
// refuse it anyway, the log's queue or the statements being verified being
// full. Far beyond capacity most unary appends are refused; refused here,
// each costs no handler goroutine, no decoding and no interceptors, which
// leaves the CPU to the appends admitted. Streams are not refused here:
// flow control holds them back.
func (s *Server) TapHandle(ctx context.Context, info *tap.Info) (context.Context, error) {
	if info.FullMethodName != akashiv1.LedgerService_AppendRecord_FullMethodName {
		return ctx, nil
	}
	if err := s.log.Admit(); err != nil {
		return ctx, s.status(ctx, err)
	}
	if s.preparing.Load() >= s.preparingLimit() {
		return ctx, s.status(ctx, s.errPreparingFull())
	}
	return ctx, nil
}

// checked is a statement decoded, validated and matched with its key, its
// signature not yet verified.
type checked struct {
	payload []byte
	p       *pending
	key     ed25519.PublicKey // nil for the statement that establishes a new log's governance key
}

// check decodes and validates one signed statement — a record, or a
// governance action when governance is true — and looks up its key.
func (s *Server) check(ss *akashiv1.SignedStatement, governance bool) (*checked, error) {
	if ss == nil {
		return nil, invalid("statement", "nothing", "a signed statement")
	}
	if err := record.ValidateSignedStatement(ss); err != nil {
		return nil, err
	}
	st, err := record.DecodeStatement(ss.GetStatement())
	if err != nil {
		return nil, err
	}
	switch {
	case !governance && st.GetRecord() == nil:
		return nil, invalid("statement.body", bodyName(st), "a record (governance actions go to RegistryService.ApplyGovernance)")
	case governance && st.GetGovernance() == nil:
		return nil, invalid("statement.body", bodyName(st), "a governance action (records go to LedgerService.AppendRecord)")
	}
	if err := record.ValidateStatement(st); err != nil {
		return nil, err
	}
	key, err := s.signingKey(ss)
	if err != nil {
		return nil, err
	}
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(ss)
	if err != nil {
		return nil, fmt.Errorf("encoding the signed statement: %w", err)
	}
	return &checked{payload: payload, key: key, p: &pending{signed: ss, statement: st, digest: sha256.Sum256(ss.GetStatement())}}, nil
}

// prepare checks one signed statement and verifies its signature, and
// returns the payload to append.
func (s *Server) prepare(ctx context.Context, ss *akashiv1.SignedStatement, governance bool) ([]byte, *pending, error) {
	// An overloaded log refuses before the costly signature check.
	if err := s.log.Admit(); err != nil {
		return nil, nil, err
	}
	if n := s.preparing.Add(1); n > s.preparingLimit() {
		s.preparing.Add(-1)
		return nil, nil, s.errPreparingFull()
	}
	defer s.preparing.Add(-1)
	c, err := s.check(ss, governance)
	if err != nil {
		return nil, nil, err
	}
	if c.key != nil {
		job := &sigJob{key: c.key, ss: ss}
		if err := s.sigs.verify(ctx, []*sigJob{job}); err != nil {
			return nil, nil, err
		}
		if job.err != nil {
			return nil, nil, fmt.Errorf("%w: %v", registry.ErrBadSignature, job.err)
		}
		c.p.verified = c.key
	}
	return c.payload, c.p, nil
}

// answer turns the outcome of an append into a response: a statement
// already in the log is answered with its original receipt.
func (s *Server) answer(ctx context.Context, rcpt *verify.Receipt, err error) (*akashiv1.AppendRecordResponse, error) {
	var dup *DuplicateError
	if errors.As(err, &dup) {
		r, err := s.receiptFor(ctx, dup.Index)
		if err != nil {
			return nil, err
		}
		return &akashiv1.AppendRecordResponse{Receipt: r, Duplicate: true}, nil
	}
	if err != nil {
		return nil, err
	}
	return &akashiv1.AppendRecordResponse{Receipt: receiptProto(rcpt)}, nil
}

func bodyName(st *akashiv1.Statement) string {
	switch {
	case st.GetGovernance() != nil:
		return "a governance action"
	case st.GetRecord() != nil:
		return "a record"
	}
	return "no body"
}

// receiptFor builds the receipt of an entry already in the log, proved
// against the latest checkpoint.
func (s *Server) receiptFor(ctx context.Context, index uint64) (*akashiv1.Receipt, error) {
	head := s.log.Head()
	e, err := s.log.Entry(ctx, index)
	if err != nil {
		return nil, err
	}
	p, err := s.log.InclusionProof(ctx, index, head.Size)
	if err != nil {
		return nil, err
	}
	return receiptProto(&verify.Receipt{
		Index:      index,
		Header:     e.Header,
		LeafHash:   e.LeafHash,
		ChainHash:  verify.ChainHash(e.Parsed.PrevChain, e.LeafHash),
		Checkpoint: head.Checkpoint,
		Proof:      p,
	}), nil
}

// GetEntry implements akashiv1.LedgerServiceServer.
func (s *Server) GetEntry(ctx context.Context, req *akashiv1.GetEntryRequest) (*akashiv1.GetEntryResponse, error) {
	size := s.log.Size()
	e, err := s.log.Entry(ctx, req.GetIndex())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &akashiv1.GetEntryResponse{Entry: entryProto(e), TreeSize: size}, nil
}

// ListEntries implements akashiv1.LedgerServiceServer.
func (s *Server) ListEntries(ctx context.Context, req *akashiv1.ListEntriesRequest) (*akashiv1.ListEntriesResponse, error) {
	size := s.log.Size()
	start := req.GetStart()
	if t := req.GetPageToken(); t != "" {
		var err error
		if start, err = parsePageToken(t); err != nil {
			return nil, s.status(ctx, err)
		}
	}
	n := req.GetPageSize()
	switch {
	case n == 0:
		n = DefaultPageSize
	case n < 0 || n > MaxPageSize:
		return nil, s.status(ctx, invalid("page_size", n, fmt.Sprintf("1 to %d", MaxPageSize)))
	}
	if start > size {
		return nil, s.status(ctx, invalid("start", start, fmt.Sprintf("at most the log's size %d", size)))
	}
	end := min(start+uint64(n), size)
	resp := &akashiv1.ListEntriesResponse{TreeSize: size}
	err := s.log.Entries(ctx, start, end, func(e ledger.Entry) error {
		resp.Entries = append(resp.Entries, entryProto(e))
		return nil
	})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	if end < size {
		resp.NextPageToken = pageToken(end)
	}
	return resp, nil
}

// Page tokens are opaque to clients: "e1" and the next index, base64url.
func pageToken(next uint64) string {
	return base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64([]byte("e1"), next))
}

func parsePageToken(t string) (uint64, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) != 10 || string(b[:2]) != "e1" {
		return 0, invalid("page_token", fmt.Sprintf("%.40q", t), "the next_page_token of a previous page")
	}
	return binary.BigEndian.Uint64(b[2:]), nil
}

// GetRecord implements akashiv1.LedgerServiceServer.
func (s *Server) GetRecord(ctx context.Context, req *akashiv1.GetRecordRequest) (*akashiv1.GetRecordResponse, error) {
	resp, err := s.getRecord(ctx, req)
	return resp, s.status(ctx, err)
}

func (s *Server) getRecord(ctx context.Context, req *akashiv1.GetRecordRequest) (*akashiv1.GetRecordResponse, error) {
	size := s.log.Size()
	id, pub := req.GetId(), req.GetPublisher()
	if id == "" {
		return nil, invalid("id", `""`, "a record id")
	}
	if pub == "" {
		var pubs []string
		err := s.log.IndexScan(append(joinKey(idxRecord, id), 0), func(k, _ []byte) (bool, error) {
			if p, ok := splitRecordKey(k, id); ok {
				pubs = append(pubs, p)
			}
			return len(pubs) < 10, nil
		})
		if err != nil {
			return nil, err
		}
		switch len(pubs) {
		case 0:
			return nil, fmt.Errorf("%w: no record has id %q", ErrNotFound, id)
		case 1:
			pub = pubs[0]
		default:
			return nil, invalid("publisher", `""`, fmt.Sprintf("one of %q, which all published a record %q", pubs, id))
		}
	}
	b, err := s.log.IndexGet(recordKey(pub, id))
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s published no record %q", ErrNotFound, pub, id)
	}
	if err != nil {
		return nil, err
	}
	ri, err := decodeRecordInfo(b)
	if err != nil {
		return nil, err
	}
	if ri.index >= size {
		return nil, fmt.Errorf("%w: no record has id %q", ErrNotFound, id)
	}
	e, err := s.log.Entry(ctx, ri.index)
	if err != nil {
		return nil, err
	}
	resp := &akashiv1.GetRecordResponse{Entry: entryProto(e), TreeSize: size}
	vb, err := s.log.IndexGet(processKey(pub, ri.process))
	if err != nil {
		return nil, err
	}
	if len(vb) > 8*MaxVersions {
		vb = vb[len(vb)-8*MaxVersions:]
	}
	var versions []uint64
	for ; len(vb) >= 8; vb = vb[8:] {
		if i := binary.BigEndian.Uint64(vb); i < size {
			versions = append(versions, i)
		}
	}
	for _, i := range versions {
		v, err := s.log.Entry(ctx, i)
		if err != nil {
			return nil, err
		}
		resp.Versions = append(resp.Versions, entryProto(v))
	}
	return resp, nil
}

// GetCheckpoint implements akashiv1.LedgerServiceServer.
func (s *Server) GetCheckpoint(ctx context.Context, req *akashiv1.GetCheckpointRequest) (*akashiv1.GetCheckpointResponse, error) {
	signed := s.log.Checkpoint()
	if req.TreeSize != nil {
		var err error
		if signed, err = s.log.CheckpointAt(ctx, req.GetTreeSize()); err != nil {
			return nil, s.status(ctx, err)
		}
	}
	cp, err := verify.OpenCheckpoint(signed, s.log.Origin(), s.log.Verifier())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &akashiv1.GetCheckpointResponse{Checkpoint: string(signed), TreeSize: cp.Size, RootHash: cp.Root[:]}, nil
}

// GetInclusionProof implements akashiv1.LedgerServiceServer.
func (s *Server) GetInclusionProof(ctx context.Context, req *akashiv1.GetInclusionProofRequest) (*akashiv1.GetInclusionProofResponse, error) {
	resp, err := s.inclusion(ctx, req)
	return resp, s.status(ctx, err)
}

func (s *Server) inclusion(ctx context.Context, req *akashiv1.GetInclusionProofRequest) (*akashiv1.GetInclusionProofResponse, error) {
	size := req.GetTreeSize()
	if size == 0 {
		size = s.log.Size()
	}
	index := req.GetIndex()
	var leaf verify.Hash
	if lh := req.GetLeafHash(); len(lh) > 0 {
		if len(lh) != len(leaf) {
			return nil, invalid("leaf_hash", fmt.Sprintf("%d bytes", len(lh)), "32 bytes")
		}
		e, err := s.log.EntryByLeafHash(ctx, verify.Hash(lh))
		if err != nil {
			return nil, err
		}
		index, leaf = e.Index, e.LeafHash
	} else {
		e, err := s.log.Entry(ctx, index)
		if err != nil {
			return nil, err
		}
		leaf = e.LeafHash
	}
	p, err := s.log.InclusionProof(ctx, index, size)
	if err != nil {
		return nil, err
	}
	resp := &akashiv1.GetInclusionProofResponse{Index: index, LeafHash: leaf[:], TreeSize: size, Proof: hashesProto(p)}
	if cp, err := s.log.CheckpointAt(ctx, size); err == nil {
		resp.Checkpoint = string(cp)
	}
	return resp, nil
}

// GetConsistencyProof implements akashiv1.LedgerServiceServer.
func (s *Server) GetConsistencyProof(ctx context.Context, req *akashiv1.GetConsistencyProofRequest) (*akashiv1.GetConsistencyProofResponse, error) {
	second := req.GetSecond()
	if second == 0 {
		second = s.log.Size()
	}
	p, err := s.log.ConsistencyProof(ctx, req.GetFirst(), second)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &akashiv1.GetConsistencyProofResponse{First: req.GetFirst(), Second: second, Proof: hashesProto(p)}, nil
}

// GetLogInfo implements akashiv1.LedgerServiceServer.
func (s *Server) GetLogInfo(ctx context.Context, _ *akashiv1.GetLogInfoRequest) (*akashiv1.GetLogInfoResponse, error) {
	head := s.log.Head()
	gov, _ := s.committed().Governance()
	return &akashiv1.GetLogInfoResponse{
		GovernanceKeyId: gov,
		Origin:          s.log.Origin(),
		VerifierKey:     s.opts.VerifierKey,
		Size:            head.Size,
		Checkpoint:      string(head.Checkpoint),
		RootHash:        head.Root[:],
	}, nil
}

// entryProto renders a ledger entry, with its statement decoded for reading.
func entryProto(e ledger.Entry) *akashiv1.Entry {
	chain := verify.ChainHash(e.Parsed.PrevChain, e.LeafHash)
	out := &akashiv1.Entry{
		Index: e.Index,
		Header: &akashiv1.EntryHeader{
			Version:           verify.HeaderVersion,
			Index:             e.Parsed.Index,
			IntegratedAt:      e.Parsed.IntegrationTime().Format(time.RFC3339Nano),
			PayloadSha256:     e.Parsed.PayloadDigest[:],
			PreviousChainHash: e.Parsed.PrevChain[:],
		},
		HeaderBytes:    e.Header,
		LeafHash:       e.LeafHash[:],
		ChainHash:      chain[:],
		Payload:        e.Payload,
		WithheldReason: e.Withheld,
	}
	if e.Payload != nil {
		if p, err := decodePending(e.Payload); err == nil {
			out.KeyId, out.Statement = p.signed.GetKeyId(), p.statement
		}
	}
	return out
}

func receiptProto(r *verify.Receipt) *akashiv1.Receipt {
	return &akashiv1.Receipt{
		Index:          r.Index,
		Header:         r.Header,
		LeafHash:       r.LeafHash[:],
		ChainHash:      r.ChainHash[:],
		Checkpoint:     string(r.Checkpoint),
		TreeSize:       checkpointSize(r.Checkpoint),
		InclusionProof: hashesProto(r.Proof),
	}
}

// checkpointSize returns the tree size of a checkpoint the log signed: its
// second line. Every receipt carries it, so it is read without parsing
// the whole note again.
func checkpointSize(signed []byte) uint64 {
	_, rest, _ := bytes.Cut(signed, []byte{'\n'})
	line, _, _ := bytes.Cut(rest, []byte{'\n'})
	n, _ := strconv.ParseUint(string(line), 10, 64)
	return n
}

func hashesProto(hs []verify.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
