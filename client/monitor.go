// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultMonitorInterval is how often a [Monitor] polls by default.
const DefaultMonitorInterval = 30 * time.Second

// MonitorOptions configure a [Monitor].
type MonitorOptions struct {
	// Interval between polls; DefaultMonitorInterval when zero.
	Interval time.Duration
	// StateFile keeps the last checkpoint verified across restarts, so a
	// log that goes back or forks while the monitor is down is caught at
	// its next start. Empty keeps it in memory.
	StateFile string
	// Others are more endpoints of the same log (mirrors, or the same
	// server reached another way), pinned to the same key: at every poll
	// their checkpoints are compared with the main endpoint's, which
	// catches a log showing different histories to different readers.
	Others []*Client
	// OnCheckpoint, if set, is called with every new checkpoint verified
	// consistent with the last.
	OnCheckpoint func(endpoint string, cp Checkpoint)
}

// Alarm is evidence that a log misbehaved: two checkpoints, each signed
// with the log's key, that cannot both be true (a checkpoint going
// backwards, a tree that does not extend an earlier one, two views that
// differ). It wraps ErrRollback, ErrInconsistent or ErrSplitView.
type Alarm struct {
	// Endpoints that served Old and New.
	OldEndpoint, NewEndpoint string
	// Old and New are the checkpoints.
	Old, New Checkpoint
	Err      error
}

func (a *Alarm) Error() string {
	return fmt.Sprintf("ALARM: checkpoint of size %d from %s and checkpoint of size %d from %s: %v",
		a.Old.Size, a.OldEndpoint, a.New.Size, a.NewEndpoint, a.Err)
}

// Unwrap returns the cause.
func (a *Alarm) Unwrap() error { return a.Err }

// Monitor watches a log's checkpoints: each new one must be signed with
// the pinned key and proved to extend the last one seen; a checkpoint that
// goes backwards or does not extend the last is an [Alarm].
type Monitor struct {
	c    *Client
	opts MonitorOptions

	mu   sync.Mutex
	last Checkpoint
	seen bool
}

// monitorState is what the state file holds.
type monitorState struct {
	Origin     string `json:"origin"`
	Checkpoint string `json:"checkpoint"`
}

// NewMonitor returns a monitor of the log of c, resuming from the state
// file, if any.
func NewMonitor(c *Client, opts MonitorOptions) (*Monitor, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultMonitorInterval
	}
	m := &Monitor{c: c, opts: opts}
	for _, o := range opts.Others {
		if o.vkey != c.vkey {
			return nil, fmt.Errorf("%w: %s publishes key %q, %s %q", ErrLogKey, o.target, o.vkey, c.target, c.vkey)
		}
	}
	if opts.StateFile != "" {
		var st monitorState
		found, err := loadJSON(opts.StateFile, &st)
		if err != nil {
			return nil, err
		}
		if found {
			if st.Origin != c.origin {
				return nil, fmt.Errorf("%w: %s is the state of log %q, not %q", ErrState, opts.StateFile, st.Origin, c.origin)
			}
			if m.last, err = c.openCheckpoint([]byte(st.Checkpoint)); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrState, opts.StateFile, err)
			}
			m.seen = true
		}
	}
	return m, nil
}

// Last returns the last checkpoint verified, and whether there is one.
func (m *Monitor) Last() (Checkpoint, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last, m.seen
}

// Check polls once: it fetches the latest checkpoint, verifies its
// signature, proves it extends the last one seen, and compares it with the
// other endpoints' checkpoints. Misbehaviour is returned as an *Alarm;
// other errors (an endpoint unreachable) are returned as they are.
func (m *Monitor) Check(ctx context.Context) (Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp, err := m.c.LatestCheckpoint(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	if m.seen {
		if _, err := m.c.ProveConsistency(ctx, m.last, cp); err != nil {
			if alarming(err) {
				return cp, &Alarm{OldEndpoint: m.c.target, NewEndpoint: m.c.target, Old: m.last, New: cp, Err: err}
			}
			return cp, err
		}
	}
	if !m.seen || cp.Size != m.last.Size {
		if m.opts.OnCheckpoint != nil {
			m.opts.OnCheckpoint(m.c.target, cp)
		}
	}
	m.last, m.seen = cp, true
	if m.opts.StateFile != "" {
		if err := saveJSON(m.opts.StateFile, monitorState{Origin: m.c.origin, Checkpoint: string(cp.Signed)}); err != nil {
			return cp, err
		}
	}
	for _, o := range m.opts.Others {
		ocp, err := CompareViews(ctx, m.c, cp, o)
		if err != nil {
			return cp, err
		}
		if m.opts.OnCheckpoint != nil {
			m.opts.OnCheckpoint(o.target, ocp)
		}
	}
	return cp, nil
}

// Run polls every Interval until ctx ends (it then returns nil) or an
// alarm is raised (returned). Errors that are not alarms are passed to
// onError, if set, and polling goes on.
func (m *Monitor) Run(ctx context.Context, onError func(error)) error {
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		_, err := m.Check(ctx)
		var a *Alarm
		switch {
		case errors.As(err, &a):
			return err
		case err != nil && ctx.Err() == nil && onError != nil:
			onError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// CompareViews fetches the latest checkpoint of other, an endpoint of the
// same log as c, and checks it against cp, a checkpoint verified from c:
// equal sizes must have equal roots, and the larger tree must be proved
// (by the endpoint that has it) to extend the smaller. Two views that
// fail this are an *Alarm wrapping ErrSplitView.
func CompareViews(ctx context.Context, c *Client, cp Checkpoint, other *Client) (Checkpoint, error) {
	ocp, err := other.LatestCheckpoint(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	var perr error
	switch {
	case ocp.Size >= cp.Size:
		_, perr = other.ProveConsistency(ctx, cp, ocp)
	default:
		_, perr = c.ProveConsistency(ctx, ocp, cp)
	}
	if perr != nil {
		if alarming(perr) {
			return ocp, &Alarm{OldEndpoint: c.target, NewEndpoint: other.target, Old: cp, New: ocp, Err: fmt.Errorf("%w: %w", ErrSplitView, perr)}
		}
		return ocp, perr
	}
	return ocp, nil
}

// alarming reports an error that proves misbehaviour, rather than an
// endpoint that could not answer.
func alarming(err error) bool {
	return errors.Is(err, ErrRollback) || errors.Is(err, ErrInconsistent) || errors.Is(err, ErrSplitView)
}
