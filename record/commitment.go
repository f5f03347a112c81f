// SPDX-License-Identifier: Apache-2.0

package record

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Personal data commitments.
//
// A natural person who receives a payment is never named in a record. The
// record carries only an opaque payee identifier ([NewPayeeID]) and a
// commitment
//
//	commitment = SHA-256(salt ‖ canonical)
//
// where salt is 32 random bytes ([NewSalt]) generated per person (or per
// record) and kept, with the personal data, by the agency, and canonical
// is [CanonicalPersonalData] of the person's data. Publishing the
// commitment binds the agency to the data without revealing it: given the
// salt and data (for example to an auditor, or to the person), anyone can
// check the record with [VerifyCommitment].
//
// Unsalted hashes are forbidden. The input space of personal data is
// small: names come from a list of at most millions of family and given
// names, birth dates from about 40,000 days, and the 12-digit My Number
// (個人番号) from 10^11 values (its last digit is a check digit). An
// attacker can hash every candidate in hours or less and recover the
// person from an unsalted hash, and equal data would give equal hashes
// across records, linking a person's payments. A secret 256-bit salt
// makes both attacks infeasible. For the same reason the salt must come
// from a cryptographically secure generator, must not be derived from the
// data, and must never be published in the ledger.

const (
	// SaltSize is the size in bytes of a commitment salt.
	SaltSize = 32
	// CommitmentSize is the size in bytes of a commitment (SHA-256).
	CommitmentSize = sha256.Size
)

// NewSalt returns a fresh random salt from crypto/rand. crypto/rand does not
// fail on supported platforms (if the operating system generator is broken
// the program is terminated rather than given weak randomness).
func NewSalt() [SaltSize]byte {
	var s [SaltSize]byte
	_, _ = rand.Read(s[:]) // never returns an error since Go 1.24
	return s
}

// Commit returns SHA-256(salt ‖ canonical). canonical should be the
// output of [CanonicalPersonalData]; salt must come from [NewSalt] and be
// kept secret.
func Commit(salt [SaltSize]byte, canonical []byte) [CommitmentSize]byte {
	h := sha256.New()
	h.Write(salt[:])
	h.Write(canonical)
	var out [CommitmentSize]byte
	h.Sum(out[:0])
	return out
}

// VerifyCommitment reports whether commitment == Commit(salt, canonical),
// comparing in constant time.
func VerifyCommitment(salt [SaltSize]byte, canonical []byte, commitment [CommitmentSize]byte) bool {
	c := Commit(salt, canonical)
	return subtle.ConstantTimeCompare(c[:], commitment[:]) == 1
}

// CommitmentFromBytes converts a commitment read from a record (for
// example a protobuf bytes field) and checks that it is exactly
// [CommitmentSize] bytes ([ErrFormat]).
func CommitmentFromBytes(b []byte) ([CommitmentSize]byte, error) {
	var c [CommitmentSize]byte
	if len(b) != CommitmentSize {
		return c, newError(fmt.Sprintf("%d bytes", len(b)), "a 32-byte SHA-256 commitment", ErrFormat)
	}
	copy(c[:], b)
	return c, nil
}

// Canonical personal data encoding, version 1.
//
// Personal data is a set of fields, each a key and a value. Its canonical
// encoding is
//
//	canonical = tag count field...
//	tag       = "akashi.personal-data.v1" 0x00              (24 bytes)
//	count     = uint32 big-endian number of fields          (1..64)
//	field     = keylen key valuelen value
//	keylen    = uint32 big-endian len(key)                  (1..64)
//	valuelen  = uint32 big-endian len(value)                (1..4096)
//
// with fields in strictly ascending bytewise order of key. Keys match
// [a-z][a-z0-9_]* (so they need no normalisation); values are non-empty
// valid UTF-8. Every length is explicit, so the encoding is injective:
// {"a": "bc"} and {"ab": "c"} differ, and no two field sets share an
// encoding ([ParseCanonicalPersonalData] inverts it).
//
// Values are NOT normalised: no Unicode normalisation (NFC is not in the
// standard library), no case folding, no trimming or width conversion
// (全角/半角). The commitment is over the exact bytes given, so the agency
// must record, and later reproduce, exactly the same bytes; choose one
// form (for example NFC, half-width digits, birth date as YYYY-MM-DD) and
// apply it before calling. An absent field is omitted, never given as an
// empty value, so that "unknown" has a single encoding.
const canonicalTag = "akashi.personal-data.v1\x00"

const (
	// MaxPersonalDataFields is the maximum number of personal data fields.
	MaxPersonalDataFields = 64
	// MaxPersonalDataKeyLen is the maximum length in bytes of a key.
	MaxPersonalDataKeyLen = 64
	// MaxPersonalDataValueLen is the maximum length in bytes of a value.
	MaxPersonalDataValueLen = 4096
)

const (
	wantPersonalKey   = "a key of 1-64 bytes matching [a-z][a-z0-9_]*"
	wantPersonalValue = "a value of 1-4096 bytes of valid UTF-8"
	wantPersonalCount = "1-64 fields"
	wantCanonical     = "canonical personal data encoding v1"
)

// CanonicalPersonalData returns the canonical encoding (version 1,
// described above) of personal data fields. Violations are reported
// together as [Errors] whose relative fields are the offending keys, e.g.
// `["name"]`. Error messages never contain values: Got describes a value
// by its length only.
func CanonicalPersonalData(fields map[string]string) ([]byte, error) {
	if n := len(fields); n < 1 || n > MaxPersonalDataFields {
		return nil, newError(strconv.Itoa(n)+" fields", wantPersonalCount, ErrOutOfRange)
	}
	keys := make([]string, 0, len(fields))
	var errs Errors
	for k, v := range fields {
		keys = append(keys, k)
		field := "[" + quote(k) + "]"
		if err := checkPersonalKey(k); err != nil {
			errs.Add(field, newError(quote(k), wantPersonalKey, err))
		}
		if err := checkPersonalValue(v); err != nil {
			errs.Add(field, newError(describeValue(v), wantPersonalValue, err))
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b *FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, errs
	}
	slices.Sort(keys)
	size := len(canonicalTag) + 4
	for _, k := range keys {
		size += 8 + len(k) + len(fields[k])
	}
	b := make([]byte, 0, size)
	b = append(b, canonicalTag...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		v := fields[k]
		b = binary.BigEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b, nil
}

// ParseCanonicalPersonalData decodes a canonical encoding produced by
// [CanonicalPersonalData]. It accepts only canonical input: for every
// accepted b, CanonicalPersonalData of the result equals b. The error
// wraps [ErrFormat] or [ErrOutOfRange] and never contains values.
func ParseCanonicalPersonalData(b []byte) (map[string]string, error) {
	fail := func(what string, err error) (map[string]string, error) {
		return nil, newError(what, wantCanonical, err)
	}
	if len(b) < len(canonicalTag) || string(b[:len(canonicalTag)]) != canonicalTag {
		return fail("missing v1 tag", ErrFormat)
	}
	rest := b[len(canonicalTag):]
	next := func() (uint32, bool) {
		if len(rest) < 4 {
			return 0, false
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		return n, true
	}
	count, ok := next()
	if !ok {
		return fail("truncated field count", ErrFormat)
	}
	if count < 1 || count > MaxPersonalDataFields {
		return fail(strconv.FormatUint(uint64(count), 10)+" fields", ErrOutOfRange)
	}
	fields := make(map[string]string, count)
	prev := ""
	for i := range count {
		kn, ok := next()
		if !ok || uint64(kn) > uint64(len(rest)) {
			return fail(fmt.Sprintf("truncated key %d", i), ErrFormat)
		}
		k := string(rest[:kn])
		rest = rest[kn:]
		if err := checkPersonalKey(k); err != nil {
			return fail(fmt.Sprintf("invalid key %d", i), err)
		}
		if i > 0 && k <= prev {
			return fail(fmt.Sprintf("key %d out of order", i), ErrFormat)
		}
		prev = k
		vn, ok := next()
		if !ok || uint64(vn) > uint64(len(rest)) {
			return fail(fmt.Sprintf("truncated value %d", i), ErrFormat)
		}
		v := string(rest[:vn])
		rest = rest[vn:]
		if err := checkPersonalValue(v); err != nil {
			return fail(fmt.Sprintf("invalid value %d", i), err)
		}
		fields[k] = v
	}
	if len(rest) != 0 {
		return fail(fmt.Sprintf("%d trailing bytes", len(rest)), ErrFormat)
	}
	return fields, nil
}

// checkPersonalKey checks a key's syntax and length.
func checkPersonalKey(k string) error {
	if len(k) < 1 || len(k) > MaxPersonalDataKeyLen {
		return ErrOutOfRange
	}
	if k[0] < 'a' || k[0] > 'z' {
		return ErrFormat
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return ErrFormat
		}
	}
	return nil
}

// checkPersonalValue checks a value's length and encoding.
func checkPersonalValue(v string) error {
	if len(v) < 1 || len(v) > MaxPersonalDataValueLen {
		return ErrOutOfRange
	}
	if !utf8.ValidString(v) {
		return ErrFormat
	}
	return nil
}

// describeValue describes a personal data value without revealing it.
func describeValue(v string) string {
	if !utf8.ValidString(v) {
		return fmt.Sprintf("a value of %d bytes that is not valid UTF-8", len(v))
	}
	return fmt.Sprintf("a value of %d bytes", len(v))
}

// Payee identifiers.
//
// A payee identifier is "P-" followed by 26 characters of the RFC 4648
// base32 alphabet (A-Z, 2-7) encoding 16 random bytes without padding, for
// example "P-4XKZ7Q2M5NBT3WJ6YH2LR7DPGE". It carries 128 bits of randomness
// and no information about the person; the agency keeps the mapping.
// The last character encodes 3 bits followed by two zero bits, so exactly
// one string represents each identifier.

// PayeeIDPrefix is the prefix of every payee identifier.
const PayeeIDPrefix = "P-"

const (
	payeeIDBytes = 16
	payeeIDLen   = len(PayeeIDPrefix) + 26
	wantPayeeID  = `a payee id "P-" + 26 base32 characters (A-Z, 2-7) from 16 random bytes`
)

const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

var payeeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewPayeeID returns a fresh random payee identifier.
func NewPayeeID() string {
	var b [payeeIDBytes]byte
	_, _ = rand.Read(b[:]) // never returns an error since Go 1.24
	return PayeeIDPrefix + payeeEncoding.EncodeToString(b[:])
}

// ValidatePayeeID reports whether s is a payee identifier in canonical
// form, as produced by [NewPayeeID]. Lower case, padding, white space and
// non-zero trailing bits are rejected ([ErrFormat]).
func ValidatePayeeID(s string) error {
	if len(s) != payeeIDLen || s[:len(PayeeIDPrefix)] != PayeeIDPrefix {
		return newError(quote(s), wantPayeeID, ErrFormat)
	}
	body := s[len(PayeeIDPrefix):]
	for i := 0; i < len(body); i++ {
		c := body[i]
		// Checked here because the base32 decoder skips '\r' and '\n'.
		if !isUpper(c) && !('2' <= c && c <= '7') {
			return newError(quote(s), wantPayeeID, ErrFormat)
		}
	}
	// 26 characters carry 130 bits: the last character's two low bits
	// must be zero. The standard library's base32 has no strict mode.
	if strings.IndexByte(base32Alphabet, body[len(body)-1])&3 != 0 {
		return newError(quote(s), wantPayeeID, ErrFormat)
	}
	return nil
}
