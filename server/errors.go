// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/ledger/verify"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/registry"
)

// The server's own sentinel errors; the domain packages have theirs.
var (
	// ErrConflict reports a record id already used by its publisher for
	// different content.
	ErrConflict = errors.New("conflict")
	// ErrInvalid reports a request the server cannot use, with a message
	// naming the field.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound reports something the log does not hold.
	ErrNotFound = errors.New("not found")
	// ErrRateLimited reports an agency over its rate limit.
	ErrRateLimited = errors.New("rate limited")
)

// invalid returns an ErrInvalid error in the form "field: got X, want Y".
func invalid(field string, got any, want string) error {
	return fmt.Errorf("%w: %s: got %v, want %s", ErrInvalid, field, got, want)
}

// toStatus is the one place where errors become gRPC status codes. Errors
// that are not the caller's doing are logged and answered without their
// details.
func toStatus(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var fe *record.FieldError
	var fes record.Errors
	code := codes.Internal
	switch {
	case errors.As(err, &fes), errors.As(err, &fe), errors.Is(err, ErrInvalid),
		errors.Is(err, ledger.ErrTooLarge), errors.Is(err, ledger.ErrInvalidArgument), errors.Is(err, record.ErrFormat):
		code = codes.InvalidArgument
	case errors.Is(err, ledger.ErrOutOfRange):
		code = codes.OutOfRange
	case errors.Is(err, ErrNotFound), errors.Is(err, ledger.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, ErrConflict), errors.Is(err, registry.ErrSequenceUsed), errors.Is(err, registry.ErrKeyExists):
		code = codes.AlreadyExists
	case errors.Is(err, registry.ErrUnknownKey), errors.Is(err, registry.ErrBadSignature):
		code = codes.Unauthenticated
	case errors.Is(err, registry.ErrRevoked), errors.Is(err, registry.ErrWrongAgency), errors.Is(err, registry.ErrNotGovernance):
		code = codes.PermissionDenied
	case errors.Is(err, registry.ErrSequenceGap), errors.Is(err, registry.ErrPreviousMismatch), errors.Is(err, registry.ErrNoGovernance):
		code = codes.FailedPrecondition
	case errors.Is(err, registry.ErrNoSuchKey):
		code = codes.NotFound
	case errors.Is(err, ledger.ErrPushback), errors.Is(err, ErrRateLimited):
		code = codes.ResourceExhausted
	case errors.Is(err, ledger.ErrClosed), errors.Is(err, ledger.ErrStorage):
		code = codes.Unavailable
	case errors.Is(err, ledger.ErrCorrupt), errors.Is(err, verify.ErrMismatch):
		code = codes.DataLoss
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	switch code {
	case codes.Internal, codes.DataLoss:
		log.ErrorContext(ctx, "request failed", "err", err)
		return status.Error(code, "internal error; the server logged the details")
	case codes.Unavailable:
		log.WarnContext(ctx, "request failed", "err", err)
	}
	return status.Error(code, err.Error())
}

// statusParts returns the code and message of a status error.
func statusParts(err error) (codes.Code, string) {
	st, _ := status.FromError(err)
	return st.Code(), st.Message()
}
