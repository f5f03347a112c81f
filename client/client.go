// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger/verify"
)

// Defaults of [Options].
const (
	// DefaultTimeout bounds each unary call.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxMessageBytes bounds a message the client receives (a page
	// of 1000 entries of up to 64 KiB each fits).
	DefaultMaxMessageBytes = 128 << 20
)

// Options configure [Dial]. The zero value dials in plaintext and refuses
// to proceed without a pinned verifier key.
type Options struct {
	// TLS secures the connection; nil dials in plaintext (the server
	// allows plaintext on loopback only).
	TLS *tls.Config
	// VerifierKey pins the log's checkpoint verifier key, in signed-note
	// verifier format ("<origin>+<hash>+<base64 key>"). Dial checks it
	// against the key the server publishes, and every checkpoint the
	// client accepts must be signed by it.
	VerifierKey string
	// TrustServerKey accepts, when VerifierKey is empty, the key the server
	// publishes (trust on first use). Without it Dial refuses to proceed
	// with no pinned key.
	TrustServerKey bool
	// Timeout bounds each unary call that has no deadline of its own;
	// DefaultTimeout when zero, none when negative.
	Timeout time.Duration
	// MaxMessageBytes bounds the messages the client receives;
	// DefaultMaxMessageBytes when zero.
	MaxMessageBytes int
	// DialOptions are added to the client's own (for example a custom
	// dialer).
	DialOptions []grpc.DialOption
}

// Client is a connection to an Akashi log that checks everything it reads
// against the log's verifier key. It is safe for concurrent use.
type Client struct {
	target   string
	conn     *grpc.ClientConn
	ledger   akashiv1.LedgerServiceClient
	registry akashiv1.RegistryServiceClient
	origin   string
	vkey     string
	verifier note.Verifier
	timeout  time.Duration

	cpMu    sync.Mutex
	cpCache map[string]verify.Checkpoint // signed note → verified body
}

// openCached verifies a signed checkpoint, remembering the last few it
// verified (receipts of one batch share their checkpoint).
func (c *Client) openCached(signed []byte) (verify.Checkpoint, error) {
	c.cpMu.Lock()
	cp, ok := c.cpCache[string(signed)]
	c.cpMu.Unlock()
	if ok {
		return cp, nil
	}
	cp, err := verify.OpenCheckpoint(signed, c.origin, c.verifier)
	if err != nil {
		return verify.Checkpoint{}, err
	}
	c.cpMu.Lock()
	if len(c.cpCache) >= 64 {
		clear(c.cpCache)
	}
	if c.cpCache == nil {
		c.cpCache = map[string]verify.Checkpoint{}
	}
	c.cpCache[string(signed)] = cp
	c.cpMu.Unlock()
	return cp, nil
}

// Dial connects to the log's gRPC endpoint target ("host:port") and
// checks its identity: the server's GetLogInfo must publish the pinned
// verifier key (see [Options.VerifierKey]) and a checkpoint signed by it.
func Dial(ctx context.Context, target string, opts Options) (*Client, error) {
	if opts.VerifierKey == "" && !opts.TrustServerKey {
		return nil, fmt.Errorf("%w: no verifier key to pin (set Options.VerifierKey, or TrustServerKey to trust the server's)", ErrLogKey)
	}
	var pinned note.Verifier
	if opts.VerifierKey != "" {
		var err error
		if pinned, err = note.NewVerifier(strings.TrimSpace(opts.VerifierKey)); err != nil {
			return nil, fmt.Errorf("%w: verifier key %q: %v", ErrLogKey, opts.VerifierKey, err)
		}
	}
	creds := insecure.NewCredentials()
	if opts.TLS != nil {
		creds = credentials.NewTLS(opts.TLS)
	}
	maxMsg := opts.MaxMessageBytes
	if maxMsg == 0 {
		maxMsg = DefaultMaxMessageBytes
	}
	dopts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg)),
	}, opts.DialOptions...)
	conn, err := grpc.NewClient(target, dopts...)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", target, err)
	}
	c := &Client{
		target:   target,
		conn:     conn,
		ledger:   akashiv1.NewLedgerServiceClient(conn),
		registry: akashiv1.NewRegistryServiceClient(conn),
		timeout:  opts.Timeout,
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	info, err := c.ledger.GetLogInfo(cctx, &akashiv1.GetLogInfoRequest{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("asking %s for the log's identity: %w", target, wrapStatus(err))
	}
	served, err := note.NewVerifier(info.GetVerifierKey())
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: the server publishes the verifier key %q: %v", ErrLogKey, info.GetVerifierKey(), err)
	}
	if pinned != nil && (served.Name() != pinned.Name() || served.KeyHash() != pinned.KeyHash() || info.GetVerifierKey() != strings.TrimSpace(opts.VerifierKey)) {
		conn.Close()
		return nil, fmt.Errorf("%w: the server at %s publishes %q, the pinned key is %q", ErrLogKey, target, info.GetVerifierKey(), opts.VerifierKey)
	}
	if served.Name() != info.GetOrigin() {
		conn.Close()
		return nil, fmt.Errorf("%w: the server's key is named %q, its origin is %q", ErrLogKey, served.Name(), info.GetOrigin())
	}
	c.origin, c.vkey, c.verifier = info.GetOrigin(), info.GetVerifierKey(), served
	if pinned != nil {
		c.verifier = pinned
	}
	if _, err := c.openCheckpoint([]byte(info.GetCheckpoint())); err != nil {
		conn.Close()
		return nil, fmt.Errorf("the server's latest checkpoint: %w", err)
	}
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Target returns the endpoint the client dialed.
func (c *Client) Target() string { return c.target }

// Origin returns the log's origin, its name in checkpoints and signatures.
func (c *Client) Origin() string { return c.origin }

// VerifierKey returns the log's verifier key in signed-note format.
func (c *Client) VerifierKey() string { return c.vkey }

// Verifier returns the verifier of the log's checkpoints.
func (c *Client) Verifier() note.Verifier { return c.verifier }

// Ledger returns the raw LedgerService client, whose answers are not
// verified.
func (c *Client) Ledger() akashiv1.LedgerServiceClient { return c.ledger }

// Registry returns the raw RegistryService client.
func (c *Client) Registry() akashiv1.RegistryServiceClient { return c.registry }

// callContext bounds a unary call by the client's timeout, unless ctx has
// a deadline already.
func (c *Client) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.timeout < 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

// Checkpoint is a checkpoint whose signature was verified with the log's
// key: the tree's size and root, and the signed note itself.
type Checkpoint struct {
	verify.Checkpoint
	// Signed is the signed note (C2SP tlog-checkpoint).
	Signed []byte
}

// OpenCheckpoint verifies a signed checkpoint of the log named origin with
// verifier v.
func OpenCheckpoint(signed []byte, origin string, v note.Verifier) (Checkpoint, error) {
	cp, err := verify.OpenCheckpoint(signed, origin, v)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	return Checkpoint{Checkpoint: cp, Signed: append([]byte(nil), signed...)}, nil
}

func (c *Client) openCheckpoint(signed []byte) (Checkpoint, error) {
	return OpenCheckpoint(signed, c.origin, c.verifier)
}

// LogInfo describes the log, as verified by the client.
type LogInfo struct {
	Origin      string
	VerifierKey string
	// Checkpoint is the latest checkpoint, signature verified.
	Checkpoint Checkpoint
	// GovernanceKeyID is the current governance key's id, as the server says.
	GovernanceKeyID string
}

// Info returns the log's identity and its latest checkpoint.
func (c *Client) Info(ctx context.Context) (*LogInfo, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	info, err := c.ledger.GetLogInfo(cctx, &akashiv1.GetLogInfoRequest{})
	if err != nil {
		return nil, wrapStatus(err)
	}
	if info.GetVerifierKey() != c.vkey || info.GetOrigin() != c.origin {
		return nil, fmt.Errorf("%w: the server now publishes %q for %q", ErrLogKey, info.GetVerifierKey(), info.GetOrigin())
	}
	cp, err := c.openCheckpoint([]byte(info.GetCheckpoint()))
	if err != nil {
		return nil, err
	}
	return &LogInfo{Origin: c.origin, VerifierKey: c.vkey, Checkpoint: cp, GovernanceKeyID: info.GetGovernanceKeyId()}, nil
}

// LatestCheckpoint returns the log's latest checkpoint, signature verified.
func (c *Client) LatestCheckpoint(ctx context.Context) (Checkpoint, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ledger.GetCheckpoint(cctx, &akashiv1.GetCheckpointRequest{})
	if err != nil {
		return Checkpoint{}, wrapStatus(err)
	}
	return c.openCheckpoint([]byte(resp.GetCheckpoint()))
}

// CheckpointAt returns the checkpoint the log published at a tree size,
// signature verified. Only the sizes at which a batch ended have one.
func (c *Client) CheckpointAt(ctx context.Context, size uint64) (Checkpoint, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ledger.GetCheckpoint(cctx, &akashiv1.GetCheckpointRequest{TreeSize: &size})
	if err != nil {
		return Checkpoint{}, wrapStatus(err)
	}
	cp, err := c.openCheckpoint([]byte(resp.GetCheckpoint()))
	if err != nil {
		return Checkpoint{}, err
	}
	if cp.Size != size {
		return Checkpoint{}, fmt.Errorf("%w: asked for the checkpoint at size %d, got size %d", ErrVerification, size, cp.Size)
	}
	return cp, nil
}

// ProveConsistency fetches the proof that the tree of checkpoint newer
// extends the tree of checkpoint older, and verifies it. Both checkpoints
// must have been verified (see [Client.LatestCheckpoint]). Two
// checkpoints of the same size must have the same root; a newer
// checkpoint smaller than the older one is [ErrRollback].
func (c *Client) ProveConsistency(ctx context.Context, older, newer Checkpoint) ([]verify.Hash, error) {
	switch {
	case newer.Size < older.Size:
		return nil, fmt.Errorf("%w: checkpoint of size %d after one of size %d", ErrRollback, newer.Size, older.Size)
	case newer.Size == older.Size:
		if newer.Root != older.Root {
			return nil, fmt.Errorf("%w: two checkpoints of size %d with roots %v and %v", ErrSplitView, older.Size, older.Root, newer.Root)
		}
		return nil, nil
	case older.Size == 0:
		return nil, nil // the empty tree is a prefix of every tree
	}
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ledger.GetConsistencyProof(cctx, &akashiv1.GetConsistencyProofRequest{First: older.Size, Second: newer.Size})
	if err != nil {
		return nil, wrapStatus(err)
	}
	p, err := hashes(resp.GetProof())
	if err != nil {
		return nil, err
	}
	if err := verify.VerifyConsistency(older.Size, newer.Size, p, older.Root, newer.Root); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInconsistent, err)
	}
	return p, nil
}

// ProveInclusion fetches the proof that the entry at index, whose leaf
// hash is leaf, is in the tree of checkpoint cp, and verifies it.
func (c *Client) ProveInclusion(ctx context.Context, index uint64, leaf verify.Hash, cp Checkpoint) ([]verify.Hash, error) {
	if index >= cp.Size {
		return nil, fmt.Errorf("%w: index %d is beyond the checkpoint's size %d", ErrVerification, index, cp.Size)
	}
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ledger.GetInclusionProof(cctx, &akashiv1.GetInclusionProofRequest{Index: index, TreeSize: cp.Size})
	if err != nil {
		return nil, wrapStatus(err)
	}
	p, err := hashes(resp.GetProof())
	if err != nil {
		return nil, err
	}
	if err := verify.VerifyInclusion(index, cp.Size, leaf, p, cp.Root); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	return p, nil
}

// hashes converts proof hashes, refusing any that is not 32 bytes.
func hashes(bs [][]byte) ([]verify.Hash, error) {
	out := make([]verify.Hash, len(bs))
	for i, b := range bs {
		if len(b) != len(verify.Hash{}) {
			return nil, fmt.Errorf("%w: proof hash %d has %d bytes", ErrVerification, i, len(b))
		}
		out[i] = verify.Hash(b)
	}
	return out, nil
}

// RefusedError is an error the server answered with: the request was
// refused, for the reason Message gives. It unwraps to [ErrRefused] and
// keeps its gRPC status for status.Code.
type RefusedError struct {
	Code    codes.Code
	Message string
}

func (e *RefusedError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Unwrap returns ErrRefused.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// GRPCStatus returns the status the server answered with.
func (e *RefusedError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// definite reports whether the refusal means the statement was not logged
// and will not be by retrying the same bytes.
func (e *RefusedError) definite() bool {
	switch e.Code {
	case codes.InvalidArgument, codes.AlreadyExists, codes.PermissionDenied, codes.Unauthenticated,
		codes.FailedPrecondition, codes.NotFound, codes.OutOfRange:
		return true
	}
	return false
}

// wrapStatus turns a gRPC error into a *RefusedError; other errors pass.
func wrapStatus(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if st, ok := status.FromError(err); ok {
		return &RefusedError{Code: st.Code(), Message: st.Message()}
	}
	return err
}
