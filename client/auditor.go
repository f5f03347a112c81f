// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger/verify"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/registry"
)

// Defaults of [AuditorOptions].
const (
	// DefaultMaxFailures is the most failures an audit reports before it
	// stops.
	DefaultMaxFailures = 100
	// DefaultSaveInterval is how often a running audit saves its state.
	DefaultSaveInterval = 5 * time.Second
	// sigBatch is the number of signatures verified as one batch.
	sigBatch = 256
)

// AuditorOptions configure an [Auditor].
type AuditorOptions struct {
	// StateFile keeps the audit's state between runs: where the
	// sequential check stands (verify.AuditorState), the registry replayed
	// so far, and the last checkpoint verified. A run resumes from it and
	// checks only what the log has appended since. Empty audits from the
	// start every time.
	StateFile string
	// Workers is the number of goroutines that fetch, decode, hash and
	// verify signatures; GOMAXPROCS when zero.
	Workers int
	// PageSize is the number of entries fetched at once; MaxPageSize when zero.
	PageSize int
	// MaxFailures stops the audit after that many failures;
	// DefaultMaxFailures when zero.
	MaxFailures int
	// SaveInterval is how often the state is saved during a run;
	// DefaultSaveInterval when zero.
	SaveInterval time.Duration
	// Progress, if set, is called from time to time during a run, and once
	// at its end.
	Progress func(Progress)
}

// Progress is how far a running audit has got.
type Progress struct {
	// Start is the size the run resumed from, Done the entries checked so
	// far, Total the size of the tree being audited.
	Start, Done, Total uint64
	Elapsed            time.Duration
	Failures           int
}

// AuditReport says what an audit run checked and found.
type AuditReport struct {
	Origin string `json:"origin"`
	// From and To: the run checked the entries [From, To).
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	// Checkpoint is the checkpoint the run audited the log against.
	Checkpoint string `json:"checkpoint"`
	// Root is the root of the tree of size To, recomputed from the entries.
	Root verify.Hash `json:"root"`
	// Previous is the size of the checkpoint the previous run verified,
	// which Checkpoint was proved to extend; 0 for a first run.
	Previous uint64 `json:"previous_size"`
	// Counts of what the run checked.
	Records    uint64 `json:"records"`
	Governance uint64 `json:"governance"`
	Withheld   uint64 `json:"withheld"`
	Signatures uint64 `json:"signatures"`
	// Keys and Agencies in the registry at To.
	Keys     int `json:"keys"`
	Agencies int `json:"agencies"`
	// Failures found, in index order.
	Failures []Failure     `json:"failures"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	// Complete is true when the run reached To = the checkpoint's size.
	Complete bool `json:"complete"`
}

// Rate returns the entries checked per second.
func (r *AuditReport) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.To-r.From) / r.Elapsed.Seconds()
}

// Auditor verifies a whole log, resuming from where its last run stopped:
// every entry's header, its index, time and chain link, its payload
// digest, the strict encoding and validity of every statement, every
// signature against the keys the registry allowed at that index, every
// signer's sequence and chain, the registry's rules, the tree root against
// the latest checkpoint (signature verified with the pinned key) and the
// consistency of that checkpoint with the one the last run verified.
//
// Signatures are verified in batches ([record.BatchVerifier]) and entries
// decoded and hashed on all cores; only the chain, tree and registry are
// followed in order.
type Auditor struct {
	c    *Client
	opts AuditorOptions
}

// NewAuditor returns an auditor of the log of c.
func NewAuditor(c *Client, opts AuditorOptions) *Auditor {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.PageSize <= 0 || opts.PageSize > MaxPageSize {
		opts.PageSize = MaxPageSize
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = DefaultMaxFailures
	}
	if opts.SaveInterval <= 0 {
		opts.SaveInterval = DefaultSaveInterval
	}
	return &Auditor{c: c, opts: opts}
}

// auditState is what the state file holds.
type auditState struct {
	Version     int                 `json:"version"`
	Origin      string              `json:"origin"`
	VerifierKey string              `json:"verifier_key"`
	Auditor     verify.AuditorState `json:"auditor"`
	Registry    registrySnapshot    `json:"registry"`
	// Verified is the last checkpoint the audit verified against the
	// entries (its size is at most Auditor.Size).
	Verified string `json:"verified_checkpoint,omitempty"`
	// Target is the checkpoint a run was auditing towards when it stopped.
	Target string `json:"target_checkpoint,omitempty"`
	// Withheld counts withheld payloads seen so far.
	Withheld uint64 `json:"withheld,omitempty"`
}

const auditStateVersion = 1

// registrySnapshot is a registry.Memory, saved.
type registrySnapshot struct {
	Keys       []registry.Key         `json:"keys"`
	Signers    map[string]signerPoint `json:"signers"`
	Governance string                 `json:"governance"`
}

type signerPoint struct {
	Sequence  uint64      `json:"sequence"`
	Last      verify.Hash `json:"last"`
	LastIndex uint64      `json:"last_index"`
}

func snapshot(m *registry.Memory) registrySnapshot {
	s := registrySnapshot{Keys: m.Keys(), Signers: map[string]signerPoint{}}
	s.Governance, _ = m.Governance()
	for _, k := range s.Keys {
		if sg, _ := m.Signer(k.ID); sg.Sequence > 0 {
			s.Signers[k.ID] = signerPoint{Sequence: sg.Sequence, Last: sg.Last, LastIndex: sg.LastIndex}
		}
	}
	return s
}

func (s registrySnapshot) restore(origin string) *registry.Memory {
	m := registry.NewMemory(origin)
	var changes []registry.Change
	for _, k := range s.Keys {
		changes = append(changes, registry.Change{Key: &k})
	}
	for id, sg := range s.Signers {
		changes = append(changes, registry.Change{SignerID: id, Signer: registry.Signer{Sequence: sg.Sequence, Last: sg.Last, LastIndex: sg.LastIndex}})
	}
	if s.Governance != "" {
		changes = append(changes, registry.Change{Governance: s.Governance})
	}
	m.Apply(changes)
	return m
}

// decoded is one entry after the parallel stage.
type decoded struct {
	index    uint64
	header   verify.Header
	leaf     verify.Hash
	withheld bool
	ss       *akashiv1.SignedStatement
	st       *akashiv1.Statement
	hash     [32]byte
	err      error // the payload's fault; the header is fine
}

// fetched is one page after the parallel stage.
type fetched struct {
	start   uint64
	entries []decoded
	err     error // could not fetch, or the header is unusable: fatal
}

// sigItem is one signature to verify.
type sigItem struct {
	index uint64
	pub   ed25519.PublicKey
	ss    *akashiv1.SignedStatement
}

// run is the state of one audit run.
type run struct {
	a      *Auditor
	origin string
	aud    *verify.Auditor
	reg    *registry.Memory
	st     auditState
	report *AuditReport

	mu       sync.Mutex
	failures []Failure
	sigs     sync.WaitGroup
	sigCh    chan []sigItem
}

func (r *run) fail(index uint64, err error) {
	var ee *verify.EntryError
	if errors.As(err, &ee) && ee.Index == index {
		err = ee.Err
	}
	r.mu.Lock()
	r.failures = append(r.failures, Failure{Index: index, Err: err})
	r.mu.Unlock()
}

func (r *run) failureCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failures)
}

// Run audits the log up to its latest checkpoint and saves the state. The
// error wraps ErrVerification (or ErrInconsistent, ErrRollback) when the
// log fails the audit; the report lists every failure found, each with
// its index. An interrupted run (ctx canceled) saves where it got to,
// when everything up to there verified, and the next run resumes there.
func (a *Auditor) Run(ctx context.Context) (*AuditReport, error) {
	start := time.Now()
	r := &run{a: a, origin: a.c.origin, report: &AuditReport{Origin: a.c.origin}}
	r.st = auditState{Version: auditStateVersion, Origin: a.c.origin, VerifierKey: a.c.vkey}
	if a.opts.StateFile != "" {
		var st auditState
		found, err := loadJSON(a.opts.StateFile, &st)
		if err != nil {
			return nil, err
		}
		if found {
			if st.Version != auditStateVersion || st.Origin != a.c.origin || st.VerifierKey != a.c.vkey {
				return nil, fmt.Errorf("%w: %s is the audit of log %q (key %q), not of %q (key %q)", ErrState, a.opts.StateFile, st.Origin, st.VerifierKey, a.c.origin, a.c.vkey)
			}
			r.st = st
		}
	}
	var err error
	if r.aud, err = verify.NewAuditor(r.st.Auditor); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	r.reg = r.st.Registry.restore(r.origin)
	r.report.From, r.report.To = r.aud.Size(), r.aud.Size()

	// The checkpoint to audit against, proved consistent with the last
	// one verified and with the one a previous run was heading for.
	target, err := a.c.LatestCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	r.report.Checkpoint = string(target.Signed)
	for _, old := range []string{r.st.Verified, r.st.Target} {
		if old == "" {
			continue
		}
		prev, err := a.c.openCheckpoint([]byte(old))
		if err != nil {
			return nil, fmt.Errorf("%w: the saved checkpoint: %w", ErrState, err)
		}
		if old == r.st.Verified {
			r.report.Previous = prev.Size
		}
		if _, err := a.c.ProveConsistency(ctx, prev, target); err != nil {
			r.fail(max(prev.Size, 1)-1, err)
			r.report.Failures = r.failures
			r.report.Elapsed = time.Since(start)
			return r.report, fmt.Errorf("%w: the latest checkpoint (size %d) against the one verified before (size %d): %w", ErrVerification, target.Size, prev.Size, err)
		}
	}
	if target.Size < r.aud.Size() {
		err := fmt.Errorf("%w: the log's checkpoint has size %d, the audit already verified %d entries", ErrRollback, target.Size, r.aud.Size())
		r.fail(target.Size, err)
		r.report.Failures = r.failures
		return r.report, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	r.st.Target = string(target.Signed)

	fatal := r.stream(ctx, target, start)
	// Wait for the signatures in flight.
	close(r.sigCh)
	r.sigs.Wait()

	r.report.To = r.aud.Size()
	r.report.Root = r.aud.Root()
	r.report.Keys = len(r.reg.Keys())
	r.report.Agencies = len(r.reg.Agencies())
	r.report.Elapsed = time.Since(start)
	if fatal == nil && ctx.Err() == nil && r.aud.Size() == target.Size {
		if err := r.aud.CheckCheckpoint(target.Checkpoint); err != nil {
			r.fail(max(target.Size, 1)-1, err)
		} else {
			r.report.Complete = true
		}
	}
	r.mu.Lock()
	slices.SortStableFunc(r.failures, func(x, y Failure) int {
		switch {
		case x.Index < y.Index:
			return -1
		case x.Index > y.Index:
			return 1
		}
		return 0
	})
	r.report.Failures = r.failures
	r.mu.Unlock()
	if a.opts.Progress != nil {
		a.opts.Progress(Progress{Start: r.report.From, Done: r.aud.Size(), Total: target.Size, Elapsed: r.report.Elapsed, Failures: len(r.report.Failures)})
	}
	switch {
	case len(r.report.Failures) > 0:
		f := r.report.Failures[0]
		return r.report, fmt.Errorf("%w: %d failures, the first at entry %d: %w", ErrVerification, len(r.report.Failures), f.Index, f.Err)
	case fatal != nil:
		if r.aud.Size() > r.report.From {
			if err := r.save(); err != nil {
				return r.report, errors.Join(fatal, err)
			}
		}
		return r.report, fatal
	case ctx.Err() != nil:
		if err := r.save(); err != nil {
			return r.report, errors.Join(ctx.Err(), err)
		}
		return r.report, ctx.Err()
	}
	r.st.Verified, r.st.Target = string(target.Signed), ""
	return r.report, r.save()
}

// save writes the state, which the caller knows verified.
func (r *run) save() error {
	if r.a.opts.StateFile == "" {
		return nil
	}
	r.st.Auditor = r.aud.State()
	r.st.Registry = snapshot(r.reg)
	return saveJSON(r.a.opts.StateFile, &r.st)
}

// stream fetches and checks the entries up to target. It returns a fatal
// error: the log could not be read, or its chain or tree is broken (which
// is also recorded as a failure).
func (r *run) stream(ctx context.Context, target Checkpoint, started time.Time) error {
	opts := r.a.opts
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.sigCh = make(chan []sigItem, opts.Workers*2)
	for range opts.Workers {
		go func() {
			for batch := range r.sigCh {
				bv := record.NewBatchVerifier(r.origin)
				for _, it := range batch {
					bv.Add(it.pub, it.ss)
				}
				for k, err := range bv.Verify() {
					if err != nil {
						r.fail(batch[k].index, fmt.Errorf("%w: %w", registry.ErrBadSignature, err))
					}
				}
				r.sigs.Done()
			}
		}()
	}

	// Pages are fetched and decoded by workers, and consumed in order.
	from := r.aud.Size()
	type job struct {
		start uint64
		n     int
		out   chan fetched
	}
	jobs := make(chan job)
	ordered := make(chan chan fetched, opts.Workers*3)
	go func() {
		defer close(ordered)
		defer close(jobs)
		for s := from; s < target.Size; s += uint64(opts.PageSize) {
			j := job{start: s, n: int(min(uint64(opts.PageSize), target.Size-s)), out: make(chan fetched, 1)}
			select {
			case ordered <- j.out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	// More fetchers than cores: while some decode, the server prepares
	// the next pages.
	for range 2 * opts.Workers {
		go func() {
			for j := range jobs {
				j.out <- r.fetchAndDecode(ctx, j.start, j.n)
			}
		}()
	}

	lastSave, lastProgress := time.Now(), time.Now()
	var batch []sigItem
	var prev decoded // the entry before the current one, once there is one
	flush := func() {
		if len(batch) > 0 {
			r.sigs.Add(1)
			r.sigCh <- batch
			batch = nil
		}
	}
	for out := range ordered {
		var f fetched
		select {
		case f = <-out:
		case <-ctx.Done():
			flush()
			return nil
		}
		if f.err != nil {
			flush()
			var fl Failure
			if errors.As(f.err, &fl) {
				r.fail(fl.Index, fl.Err)
				return f.err
			}
			if ctx.Err() != nil {
				return nil
			}
			return f.err
		}
		for k := range f.entries {
			d := &f.entries[k]
			if err := r.aud.AppendParsed(d.header, d.leaf); err != nil {
				flush()
				r.fail(r.locate(ctx, d, prev, target), err)
				return fmt.Errorf("%w: %w", ErrVerification, err)
			}
			prev = *d
			if item, ok := r.checkStatement(d); ok {
				batch = append(batch, item)
				if len(batch) == sigBatch {
					flush()
				}
			}
			if r.failureCount() >= opts.MaxFailures {
				flush()
				return fmt.Errorf("%w: stopped after %d failures", ErrVerification, opts.MaxFailures)
			}
		}
		flush()
		if now := time.Now(); opts.Progress != nil && now.Sub(lastProgress) > 100*time.Millisecond {
			lastProgress = now
			opts.Progress(Progress{Start: from, Done: r.aud.Size(), Total: target.Size, Elapsed: now.Sub(started), Failures: r.failureCount()})
		}
		if opts.StateFile != "" && time.Since(lastSave) > opts.SaveInterval {
			// Save only what has verified: wait for the signatures.
			r.sigs.Wait()
			if r.failureCount() == 0 {
				if err := r.save(); err != nil {
					return err
				}
			}
			lastSave = time.Now()
		}
	}
	return nil
}

// locate finds which entry a broken chain link is the fault of: the
// previous entry, when its header is not the one the checkpoint's tree
// holds at its index (its leaf hash does not prove included), or else the
// entry whose link breaks.
func (r *run) locate(ctx context.Context, d *decoded, prev decoded, target Checkpoint) uint64 {
	if d.index == 0 || prev.index != d.index-1 || d.header.Index != d.index {
		return d.index
	}
	if _, err := r.a.c.ProveInclusion(ctx, prev.index, prev.leaf, target); errors.Is(err, ErrVerification) {
		return prev.index
	}
	return d.index
}

// checkStatement follows the registry through one entry, in order. The
// signature of a record is queued for batch verification; a governance
// statement's is verified at once, since it changes who may sign what
// follows.
func (r *run) checkStatement(d *decoded) (sigItem, bool) {
	switch {
	case d.withheld:
		r.report.Withheld++
		r.st.Withheld++
		return sigItem{}, false
	case d.err != nil:
		r.fail(d.index, d.err)
		return sigItem{}, false
	}
	st := registry.Statement{Signed: d.ss, Statement: d.st, Hash: d.hash}
	var item sigItem
	queued := false
	if d.st.GetRecord() != nil {
		r.report.Records++
		if k, found, _ := r.reg.Key(d.ss.GetKeyId()); found {
			st.Verified, queued = k.Public, true
			item = sigItem{index: d.index, pub: k.Public, ss: d.ss}
		}
	} else {
		r.report.Governance++
		r.report.Signatures++
	}
	changes, err := registry.Check(r.reg, r.origin, d.index, st)
	if err != nil {
		if r.st.Withheld > 0 && (errors.Is(err, registry.ErrSequenceGap) || errors.Is(err, registry.ErrPreviousMismatch)) {
			// A withheld payload hides a statement of some signer: its
			// chain continues from this statement.
			r.reg.Apply([]registry.Change{{SignerID: d.ss.GetKeyId(), Signer: registry.Signer{Sequence: d.st.GetSequence(), Last: d.hash, LastIndex: d.index}}})
		} else {
			r.fail(d.index, err)
		}
		return sigItem{}, false
	}
	r.reg.Apply(changes)
	if queued {
		r.report.Signatures++
	}
	return item, queued
}

// fetchAndDecode fetches a page and does the per-entry work that needs no
// order: parse and hash headers, check payload digests, decode and
// validate statements.
func (r *run) fetchAndDecode(ctx context.Context, start uint64, n int) fetched {
	p, err := r.a.c.page(ctx, start, n)
	if err != nil {
		var re *RefusedError
		if errors.As(err, &re) && (re.Code == codes.DataLoss || re.Code == codes.Internal) {
			// The server cannot read part of its log: find the entry.
			for i := start; i < start+uint64(n) && ctx.Err() == nil; i++ {
				if _, e := r.a.c.page(ctx, i, 1); e != nil {
					return fetched{start: start, err: Failure{Index: i, Err: fmt.Errorf("%w: the log cannot serve this entry: %w", ErrVerification, e)}}
				}
			}
		}
		return fetched{start: start, err: err}
	}
	out := fetched{start: start, entries: make([]decoded, n)}
	for k := range p.entries {
		e := &p.entries[k]
		d := &out.entries[k]
		d.index = e.index
		h, err := verify.ParseHeader(e.header)
		if err == nil && h.Index != e.index {
			err = fmt.Errorf("%w: the header of entry %d names index %d", verify.ErrMismatch, e.index, h.Index)
		}
		if err != nil {
			return fetched{start: start, err: Failure{Index: e.index, Err: err}}
		}
		d.header, d.leaf = h, verify.LeafHash(e.header)
		if e.withheld != "" && len(e.payload) == 0 {
			d.withheld = true
			continue
		}
		if err := verify.CheckPayload(h, e.payload); err != nil {
			d.err = err
			continue
		}
		if d.ss, err = record.DecodeSignedStatement(e.payload); err != nil {
			d.err = err
			continue
		}
		if d.st, err = record.DecodeStatement(d.ss.GetStatement()); err != nil {
			d.err = err
			continue
		}
		if err := record.ValidateStatement(d.st); err != nil {
			d.err = err
			continue
		}
		d.hash = record.StatementHash(d.ss.GetStatement())
	}
	return out
}
