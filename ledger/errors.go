// SPDX-License-Identifier: Apache-2.0

package ledger

import "errors"

// The ledger's sentinel errors. Every error the package returns wraps one of
// these (or one of package verify's), so that callers, and the one place in
// the server that chooses gRPC codes, decide with errors.Is.
var (
	// ErrClosed is returned by calls on a closed Log, and to appends that
	// were still queued when it closed.
	ErrClosed = errors.New("ledger: closed")
	// ErrPushback is returned by Append when the queue of appends waiting for
	// the sequencer is full. The caller should retry later.
	ErrPushback = errors.New("ledger: too many appends pending, try again later")
	// ErrTooLarge is returned by Append for an empty payload or one over
	// Options.MaxPayloadSize.
	ErrTooLarge = errors.New("ledger: payload size out of bounds")
	// ErrNotFound reports an entry, checkpoint or tile that the log does not hold.
	ErrNotFound = errors.New("ledger: not found")
	// ErrOutOfRange reports an index or tree size beyond the log's size, or
	// sizes in the wrong order.
	ErrOutOfRange = errors.New("ledger: out of range")
	// ErrWithheld is returned when the payload of an entry has been withheld.
	// The entry's header and proofs remain available.
	ErrWithheld = errors.New("ledger: payload withheld")
	// ErrStorage reports that the store failed to read or write. Appends that
	// fail with it were not committed; the log recovers its state from the
	// store and later appends may succeed.
	ErrStorage = errors.New("ledger: storage failure")
	// ErrCorrupt reports a store whose contents do not agree with themselves:
	// Open refuses to start on it and Verify locates the damage.
	ErrCorrupt = errors.New("ledger: store is damaged")
	// ErrInvalidArgument reports an argument the call cannot use.
	ErrInvalidArgument = errors.New("ledger: invalid argument")
	// ErrInvalidOptions reports an Options value that Open cannot use.
	ErrInvalidOptions = errors.New("ledger: invalid options")
)
