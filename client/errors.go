// SPDX-License-Identifier: Apache-2.0

package client

import (
	"errors"
	"fmt"
)

// The SDK's sentinel errors. Every error it returns wraps one of them, a
// record validation error (*record.FieldError, record.Errors), a
// verification error of package verify, or a context error.
var (
	// ErrLogKey reports a missing or wrong verifier key: the server does
	// not publish the pinned key, or no key was pinned.
	ErrLogKey = errors.New("log key")
	// ErrVerification reports something the server sent that does not
	// verify: a checkpoint signature, a proof, a receipt, a header, a
	// payload digest, a statement signature.
	ErrVerification = errors.New("verification failed")
	// ErrInconsistent reports a checkpoint whose tree does not extend the
	// tree of an earlier one: the log has shown two histories.
	ErrInconsistent = errors.New("inconsistent checkpoints")
	// ErrRollback reports a checkpoint smaller than one seen before.
	ErrRollback = errors.New("checkpoint went backwards")
	// ErrSplitView reports two checkpoints of one log that cannot both be
	// true: equal sizes with different roots, or trees that do not extend
	// one another (seen from two endpoints, or one endpoint over time).
	ErrSplitView = errors.New("split view")
	// ErrRefused reports a request the server refused; the error is a
	// *RefusedError with the gRPC code and the server's message.
	ErrRefused = errors.New("refused")
	// ErrUnknownOutcome reports an append whose answer was lost: the
	// statement may or may not be in the log. The signer keeps it and
	// resubmits the same bytes first on its next append (or when it is
	// opened again), which is answered with the original receipt.
	ErrUnknownOutcome = errors.New("outcome unknown")
	// ErrNotRegistered reports a signing key the log's registry does not
	// know.
	ErrNotRegistered = errors.New("key not registered")
	// ErrRewound reports a log that no longer holds statements it
	// acknowledged to this signer.
	ErrRewound = errors.New("log rewound")
	// ErrState reports a signer or auditor state file that cannot be used.
	ErrState = errors.New("state file")
)

// Failure is one thing found wrong in the log, at an entry.
type Failure struct {
	// Index is the entry at fault.
	Index uint64 `json:"index"`
	// Err says what is wrong.
	Err error `json:"-"`
}

func (f Failure) Error() string { return fmt.Sprintf("entry %d: %v", f.Index, f.Err) }

// Unwrap returns the failure's cause.
func (f Failure) Unwrap() error { return f.Err }

// MarshalJSON renders {"index": ..., "error": "..."}.
func (f Failure) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"index":%d,"error":%q}`, f.Index, f.Err.Error()), nil
}
