// SPDX-License-Identifier: Apache-2.0

package record

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// appendUnknownVarint appends a varint field numbered num to b.
func appendUnknownVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// checkDecodeError asserts that err is a *FieldError at field wrapping
// sentinel whose message contains every one of parts.
func checkDecodeError(t *testing.T, err error, field string, sentinel error, parts ...string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want a *FieldError", err, err)
	}
	if fe.Field != field {
		t.Errorf("Field = %q, want %q (%v)", fe.Field, field, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("errors.Is(%v, %v) = false", err, sentinel)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("message %q does not contain %q", err, p)
		}
	}
	checkBounded(t, fe)
}

func TestDecodeStatementValid(t *testing.T) {
	for name, st := range fixtureStatements() {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeStatement(mustMarshal(t, st))
			if err != nil {
				t.Fatalf("DecodeStatement = %v", err)
			}
			if !proto.Equal(got, st) {
				t.Errorf("DecodeStatement = %v, want %v", got, st)
			}
		})
	}
}

func TestDecodeStatementUnknownFields(t *testing.T) {
	unknown := appendUnknownVarint(nil, 99, 7)
	tests := []struct {
		name  string
		st    func() *akashiv1.Statement
		set   func(st *akashiv1.Statement)
		where string
	}{
		{"top level", func() *akashiv1.Statement { return fixtureRecordStatement(fixtureDecisionRecord()) },
			func(st *akashiv1.Statement) { st.ProtoReflect().SetUnknown(unknown) }, "in statement ("},
		{"record", func() *akashiv1.Statement { return fixtureRecordStatement(fixtureDecisionRecord()) },
			func(st *akashiv1.Statement) { st.GetRecord().ProtoReflect().SetUnknown(unknown) }, "in statement.record ("},
		{"oneof body", func() *akashiv1.Statement { return fixtureRecordStatement(fixtureDecisionRecord()) },
			func(st *akashiv1.Statement) { st.GetRecord().GetDecision().ProtoReflect().SetUnknown(unknown) }, "in statement.record.decision ("},
		{"message field in oneof body", func() *akashiv1.Statement { return fixtureRecordStatement(fixtureDecisionRecord()) },
			func(st *akashiv1.Statement) { st.GetRecord().GetDecision().Period.ProtoReflect().SetUnknown(unknown) }, "in statement.record.decision.period ("},
		{"repeated", func() *akashiv1.Statement { return fixtureRecordStatement(fixtureDecisionRecord()) },
			func(st *akashiv1.Statement) { st.GetRecord().LegalBasis[0].ProtoReflect().SetUnknown(unknown) }, "in statement.record.legal_basis[0] ("},
		{"oneof in repeated in oneof", func() *akashiv1.Statement { return fixtureRecordStatement(fixtureRequestRecord()) },
			func(st *akashiv1.Statement) {
				st.GetRecord().GetRequest().Addressees[1].GetOrganization().ProtoReflect().SetUnknown(unknown)
			}, "in statement.record.request.addressees[1].organization ("},
		{"empty message in oneof", func() *akashiv1.Statement { return fixtureRecordStatement(fixtureRequestRecord()) },
			func(st *akashiv1.Statement) {
				a := &akashiv1.AddresseeClass{}
				a.ProtoReflect().SetUnknown(unknown)
				st.GetRecord().GetRequest().Addressees[0] = &akashiv1.Addressee{Target: &akashiv1.Addressee_Class{Class: a}}
			}, "in statement.record.request.addressees[0].class ("},
		{"personal payee", func() *akashiv1.Statement { return fixtureRecordStatement(fixtureDisbursementRecord()) },
			func(st *akashiv1.Statement) {
				st.GetRecord().GetDisbursement().Payee.GetIndividual().ProtoReflect().SetUnknown(unknown)
			}, "in statement.record.disbursement.payee.individual ("},
		{"governance", func() *akashiv1.Statement { return fixtureGovernanceStatement(fixtureRegisterKey()) },
			func(st *akashiv1.Statement) {
				st.GetGovernance().GetRegisterKey().Agency.ProtoReflect().SetUnknown(unknown)
			}, "in statement.governance.register_key.agency ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.st()
			tt.set(st)
			_, err := DecodeStatement(mustMarshal(t, st))
			checkDecodeError(t, err, "statement", ErrFormat, "unknown field number 99", tt.where)
		})
	}
}

func TestDecodeStatementMalformed(t *testing.T) {
	valid := mustMarshal(t, fixtureRecordStatement(fixtureDecisionRecord()))

	// A record whose id is not UTF-8, built by hand because Marshal
	// refuses it.
	rec := protowire.AppendTag(nil, 1, protowire.BytesType)
	rec = protowire.AppendString(rec, "id-\xff")
	badUTF8 := protowire.AppendTag(nil, 1, protowire.VarintType)
	badUTF8 = protowire.AppendVarint(badUTF8, 1)
	badUTF8 = protowire.AppendTag(badUTF8, 10, protowire.BytesType)
	badUTF8 = protowire.AppendBytes(badUTF8, rec)

	tests := []struct {
		name string
		b    []byte
		is   error
		msg  []string
	}{
		{"truncated", valid[:len(valid)-1], ErrFormat, []string{"do not parse", "akashi.v1.Statement"}},
		{"garbage", []byte{0xff, 0xff, 0xff}, ErrFormat, []string{"3 bytes that do not parse"}},
		{"invalid UTF-8", badUTF8, ErrFormat, []string{"do not parse"}},
		{"wrong wire type", protowire.AppendVarint(protowire.AppendTag(nil, 10, protowire.VarintType), 1), ErrFormat, []string{"field number 10 (record) as a varint, which does not match its type message, in statement"}},
		{"too large", make([]byte, MaxStatementSize+1), ErrOutOfRange, []string{"got 65537 bytes, want at most 65536 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := DecodeStatement(tt.b)
			if st != nil {
				t.Errorf("DecodeStatement returned a statement with error %v", err)
			}
			checkDecodeError(t, err, "statement", tt.is, tt.msg...)
		})
	}
}

func TestDecodeSignedStatement(t *testing.T) {
	seed := sha256.Sum256([]byte("akashi test key"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	ss, err := Sign(priv, "akashi.example/log", fixtureRecordStatement(fixtureDisbursementRecord()))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("valid", func(t *testing.T) {
		got, err := DecodeSignedStatement(mustMarshal(t, ss))
		if err != nil {
			t.Fatalf("DecodeSignedStatement = %v", err)
		}
		if !proto.Equal(got, ss) {
			t.Errorf("DecodeSignedStatement = %v, want %v", got, ss)
		}
		if err := VerifySignature(priv.Public().(ed25519.PublicKey), "akashi.example/log", got); err != nil {
			t.Errorf("VerifySignature(decoded) = %v", err)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		b := appendUnknownVarint(mustMarshal(t, ss), 4, 1)
		_, err := DecodeSignedStatement(b)
		checkDecodeError(t, err, "signed_statement", ErrFormat, "unknown field number 4", "in signed_statement (", "akashi.v1.SignedStatement")
	})
	t.Run("malformed", func(t *testing.T) {
		b := mustMarshal(t, ss)
		_, err := DecodeSignedStatement(b[:len(b)-3])
		checkDecodeError(t, err, "signed_statement", ErrFormat, "do not parse")
	})
	t.Run("key id not UTF-8", func(t *testing.T) {
		b := protowire.AppendTag(nil, 2, protowire.BytesType)
		b = protowire.AppendString(b, "\xff")
		_, err := DecodeSignedStatement(b)
		checkDecodeError(t, err, "signed_statement", ErrFormat)
	})
	t.Run("statement too large", func(t *testing.T) {
		big := proto.Clone(ss).(*akashiv1.SignedStatement)
		big.Statement = make([]byte, MaxStatementSize+1)
		_, err := DecodeSignedStatement(mustMarshal(t, big))
		checkDecodeError(t, err, "signed_statement.statement", ErrOutOfRange, "65537 bytes", "at most 65536 bytes")
	})
	t.Run("statement of MaxStatementSize", func(t *testing.T) {
		big := proto.Clone(ss).(*akashiv1.SignedStatement)
		big.Statement = make([]byte, MaxStatementSize)
		if _, err := DecodeSignedStatement(mustMarshal(t, big)); err != nil {
			t.Errorf("DecodeSignedStatement = %v, want nil", err)
		}
	})
	t.Run("input too large", func(t *testing.T) {
		_, err := DecodeSignedStatement(make([]byte, MaxStatementSize+decodeSignedOverhead+1))
		checkDecodeError(t, err, "signed_statement", ErrOutOfRange)
	})
}

// fuzzSeeds returns the valid statements' encodings in a fixed order.
func fuzzSeeds(t testing.TB) [][]byte {
	sts := fixtureStatements()
	names := make([]string, 0, len(sts))
	for n := range sts {
		names = append(names, n)
	}
	sort.Strings(names)
	var out [][]byte
	for _, n := range names {
		out = append(out, mustMarshal(t, sts[n]))
	}
	return out
}

func FuzzDecodeStatement(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(appendUnknownVarint(nil, 99, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := DecodeStatement(b)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "statement" || !(errors.Is(err, ErrFormat) || errors.Is(err, ErrOutOfRange)) {
				t.Fatalf("DecodeStatement error = %v (%T), want a statement FieldError wrapping ErrFormat or ErrOutOfRange", err, err)
			}
			if st != nil {
				t.Fatalf("DecodeStatement returned a statement and error %v", err)
			}
			return
		}
		verr := ValidateStatement(st)
		again, err := proto.MarshalOptions{Deterministic: true}.Marshal(st)
		if err != nil {
			t.Fatalf("Marshal(decoded) = %v", err)
		}
		st2, err := DecodeStatement(again)
		if err != nil {
			t.Fatalf("DecodeStatement(re-encoded) = %v", err)
		}
		if !proto.Equal(st, st2) {
			t.Fatalf("re-encoded statement differs:\n%v\n%v", st, st2)
		}
		verr2 := ValidateStatement(st2)
		if (verr == nil) != (verr2 == nil) || verr != nil && verr.Error() != verr2.Error() {
			t.Fatalf("ValidateStatement differs after re-encoding:\n%v\n%v", verr, verr2)
		}
	})
}

func FuzzValidateStatement(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	sentinels := []error{ErrFormat, ErrCheckDigit, ErrOutOfRange, ErrUnknownCode, ErrNoMinorUnit, ErrNotLocalGovernment, ErrPeriodOrder}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Lenient decoding, so that validation sees what strict decoding
		// would refuse.
		var st akashiv1.Statement
		if proto.Unmarshal(b, &st) != nil {
			return
		}
		err := ValidateStatement(&st)
		if err == nil {
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("ValidateStatement = %v (%T), want a non-empty Errors", err, err)
		}
		for _, fe := range es {
			if fe.Field == "" || fe.Got == "" || fe.Want == "" {
				t.Errorf("violation %q lacks a field, got or want", fe)
			}
			known := false
			for _, s := range sentinels {
				known = known || errors.Is(fe, s)
			}
			if !known {
				t.Errorf("violation %q wraps %v, not a package sentinel", fe, fe.Err)
			}
			checkBounded(t, fe)
		}
	})
}
