// SPDX-License-Identifier: Apache-2.0

package record

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. Every error returned by this package is a [*FieldError]
// (or an [Errors] list of them) whose Err is one of these, so callers can
// classify failures with [errors.Is].
var (
	// ErrFormat reports a value that is syntactically malformed: wrong
	// length, wrong characters, wrong separators.
	ErrFormat = errors.New("record: malformed value")
	// ErrCheckDigit reports a well-formed identifier whose check digit
	// does not match its base digits.
	ErrCheckDigit = errors.New("record: check digit mismatch")
	// ErrOutOfRange reports a well-formed value outside its permitted
	// range (month 13, 30 February, prefecture 48, year 0, too many fields).
	ErrOutOfRange = errors.New("record: value out of range")
	// ErrUnknownCode reports a well-formed code that is not in the
	// embedded code list (for example a currency that is not active in
	// ISO 4217).
	ErrUnknownCode = errors.New("record: unknown code")
	// ErrNoMinorUnit reports an ISO 4217 code whose minor unit is "N.A."
	// (precious metals, bond-market units, SDR, XTS, XXX): it names no
	// currency in which a monetary amount can be recorded.
	ErrNoMinorUnit = errors.New("record: currency code has no minor unit")
	// ErrNotLocalGovernment reports a valid corporate number that is not
	// of the local-government form C + "000020" + local government code.
	ErrNotLocalGovernment = errors.New("record: not a local government corporate number")
	// ErrPeriodOrder reports a period whose start is after its end.
	ErrPeriodOrder = errors.New("record: period starts after it ends")
)

// maxQuoted is the number of bytes of an offending value echoed in
// [FieldError.Got]; longer values are truncated so that untrusted input
// cannot produce unbounded error messages.
const maxQuoted = 64

// FieldError describes one violation of the schema rules, in the form
//
//	field: got X, want Y
//
// Field is a dotted field path such as "record.publisher.id", with list
// indexes as "[i]". Functions in this package leave Field empty (they do not
// know where the value came from) or set a relative path such as "start";
// callers add the location with [At] or [Errors.Add].
//
// Got is the offending value already formatted for display: strings are
// Go-quoted and truncated to 64 bytes. Values that may be personal data are
// never echoed; Got then describes the value instead (for example
// "a value of 5000 bytes").
//
// Err is the sentinel classifying the violation ([ErrFormat],
// [ErrCheckDigit], ...) and is returned by Unwrap.
type FieldError struct {
	Field string
	Got   string
	Want  string
	Err   error
}

// Error returns "field: got X, want Y". Without a Field the prefix is
// omitted; without Got and Want the wrapped error's text is used instead.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	switch {
	case e.Got != "" || e.Want != "":
		b.WriteString("got ")
		b.WriteString(e.Got)
		b.WriteString(", want ")
		b.WriteString(e.Want)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("invalid value")
	}
	return b.String()
}

// Unwrap returns the sentinel classifying the violation.
func (e *FieldError) Unwrap() error { return e.Err }

// Errors is a list of violations reported together, in the order found.
// The zero value is an empty list ready to use; use [Errors.Err] to turn it
// into an error that is nil when the list is empty.
type Errors []*FieldError

// Error joins the messages of all violations with "; ".
func (es Errors) Error() string {
	if len(es) == 0 {
		return "no errors"
	}
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the violations, so that [errors.Is] and [errors.As] see
// every one of them.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Add records err as a violation at field. A nil err (or nil
// *FieldError) is ignored. If err is a
// [*FieldError] or [Errors], their (relative) field paths are prefixed with
// field and the list is flattened; any other error becomes a FieldError
// wrapping it. The caller's error values are not modified.
func (es *Errors) Add(field string, err error) {
	switch e := err.(type) {
	case nil:
	case Errors:
		for _, fe := range e {
			es.Add(field, fe)
		}
	case *FieldError:
		if e == nil {
			return
		}
		c := *e
		c.Field = joinPath(field, e.Field)
		*es = append(*es, &c)
	default:
		*es = append(*es, &FieldError{Field: field, Err: err})
	}
}

// Err returns es as an error, or nil if es is empty. Always return
// es.Err() rather than es itself, which would be a non-nil error even when
// empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// At returns err located at field: a [*FieldError] or [Errors] gets field
// prepended to its path, any other non-nil error is wrapped in a
// FieldError, and nil stays nil. It is the single-error form of
// [Errors.Add]:
//
//	if err := record.ValidateCorporateNumber(s); err != nil {
//		return record.At("record.publisher.corporate_number", err)
//	}
func At(field string, err error) error {
	var es Errors
	es.Add(field, err)
	switch len(es) {
	case 0:
		return nil
	case 1:
		if _, ok := err.(Errors); !ok {
			return es[0]
		}
	}
	return es
}

// joinPath joins a field path prefix and a relative path: "a" + "b" is
// "a.b", "a" + "[0]" is "a[0]", and an empty side yields the other.
func joinPath(prefix, rel string) string {
	switch {
	case prefix == "":
		return rel
	case rel == "":
		return prefix
	case rel[0] == '[':
		return prefix + rel
	default:
		return prefix + "." + rel
	}
}

// quote formats an untrusted string for [FieldError.Got]: Go-quoted, and
// cut at a rune boundary after at most maxQuoted bytes, followed by "...".
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > maxQuoted-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// newError returns a location-less FieldError.
func newError(got, want string, err error) *FieldError {
	return &FieldError{Got: got, Want: want, Err: err}
}
