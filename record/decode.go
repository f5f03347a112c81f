// SPDX-License-Identifier: Apache-2.0

package record

import (
	"bytes"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// Strict decoding.
//
// The log stores a statement's bytes exactly as signed, so every byte of
// them must mean something to every reader. [DecodeStatement] and
// [DecodeSignedStatement] accept only bytes that
//
//   - are at most [MaxStatementSize] bytes of statement ([ErrOutOfRange]),
//   - parse as the message (proto3 also rejects strings that are not
//     valid UTF-8) ([ErrFormat]), and
//   - carry no field unknown to this schema, at any depth, including
//     inside oneofs and repeated fields ([ErrFormat]): an unknown field
//     would be bytes in a public log that no one can read; and
//   - are the canonical encoding of what they decode to ([ErrFormat]):
//     fields in number order, each once, no default values, exactly as
//     proto.MarshalOptions{Deterministic: true} writes them (and as [Sign]
//     does). Otherwise a field repeated with two values would keep one of
//     them hidden in the signed bytes, and one record could be signed in
//     many encodings.
//
// Decoding does not validate: call [ValidateStatement] or
// [ValidateSignedStatement] on the result. The statement inside a
// SignedStatement is not decoded; pass it to [DecodeStatement].

// MaxStatementSize is the maximum size in bytes of a serialized
// akashiv1.Statement.
const MaxStatementSize = 64 << 10

// decodeSignedOverhead bounds the bytes a SignedStatement adds around its
// statement (tags, lengths, a key id and a signature) with room to spare,
// so that DecodeSignedStatement can refuse oversized input before parsing it.
const decodeSignedOverhead = 1 << 10

const (
	wantDecodeStatement = "a protobuf-encoded akashi.v1.Statement"
	wantDecodeSigned    = "a protobuf-encoded akashi.v1.SignedStatement"
)

// DecodeStatement strictly decodes a serialized statement (see above).
// Errors are [*FieldError]s with Field "statement" wrapping [ErrFormat] or
// [ErrOutOfRange].
func DecodeStatement(b []byte) (*akashiv1.Statement, error) {
	const field = "statement"
	if len(b) > MaxStatementSize {
		return nil, decodeSizeError(field, len(b), MaxStatementSize)
	}
	st := new(akashiv1.Statement)
	if err := decodeStrict(field, b, st, wantDecodeStatement); err != nil {
		return nil, err
	}
	return st, nil
}

// DecodeSignedStatement strictly decodes a serialized signed statement
// (see above). Its statement field must be at most [MaxStatementSize]
// bytes; the statement itself is not decoded. Errors are [*FieldError]s
// with Field "signed_statement" ("signed_statement.statement" for an
// oversized statement) wrapping [ErrFormat] or [ErrOutOfRange].
func DecodeSignedStatement(b []byte) (*akashiv1.SignedStatement, error) {
	const field = "signed_statement"
	if len(b) > MaxStatementSize+decodeSignedOverhead {
		return nil, decodeSizeError(field, len(b), MaxStatementSize+decodeSignedOverhead)
	}
	ss := new(akashiv1.SignedStatement)
	if err := decodeStrict(field, b, ss, wantDecodeSigned); err != nil {
		return nil, err
	}
	if n := len(ss.GetStatement()); n > MaxStatementSize {
		return nil, decodeSizeError(field+".statement", n, MaxStatementSize)
	}
	return ss, nil
}

func decodeSizeError(field string, n, limit int) *FieldError {
	return &FieldError{
		Field: field,
		Got:   strconv.Itoa(n) + " bytes",
		Want:  "at most " + strconv.Itoa(limit) + " bytes",
		Err:   ErrOutOfRange,
	}
}

// decodeStrict unmarshals b into m and rejects unknown fields.
func decodeStrict(field string, b []byte, m proto.Message, want string) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return &FieldError{
			Field: field,
			Got:   fmt.Sprintf("%d bytes that do not parse (%v)", len(b), err),
			Want:  want,
			Err:   ErrFormat,
		}
	}
	if hasUnknown(m.ProtoReflect()) {
		u, _ := decodeFindUnknown(m.ProtoReflect(), field)
		return &FieldError{
			Field: field,
			Got:   u.describe(),
			Want:  want + " with only the fields of this schema (drop the field, or upgrade this decoder if the schema has added it)",
			Err:   ErrFormat,
		}
	}
	canon, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil || !bytes.Equal(canon, b) {
		return &FieldError{
			Field: field,
			Got:   fmt.Sprintf("%d bytes in a non-canonical encoding (the canonical one has %d)", len(b), len(canon)),
			Want:  want + " in canonical encoding: fields in number order, each once, no default values (as proto.MarshalOptions{Deterministic: true} writes it)",
			Err:   ErrFormat,
		}
	}
	return nil
}

// decodeUnknown locates unknown fields: the path of the message carrying
// them, its descriptor and their bytes.
type decodeUnknown struct {
	path string
	desc protoreflect.MessageDescriptor
	raw  protoreflect.RawFields
}

// decodeFindUnknown returns the first message, in field order and depth
// first, that carries unknown fields.
// hasUnknown reports whether m carries unknown fields at any depth; it is
// decodeFindUnknown without the paths, for the common case of none.
func hasUnknown(m protoreflect.Message) bool {
	if len(m.GetUnknown()) > 0 {
		return true
	}
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					found = hasUnknown(mv.Message())
					return !found
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				l := v.List()
				for j := 0; j < l.Len() && !found; j++ {
					found = hasUnknown(l.Get(j).Message())
				}
			}
		case fd.Message() != nil:
			found = hasUnknown(v.Message())
		}
		return !found
	})
	return found
}

func decodeFindUnknown(m protoreflect.Message, path string) (decodeUnknown, bool) {
	if raw := m.GetUnknown(); len(raw) > 0 {
		return decodeUnknown{path: path, desc: m.Descriptor(), raw: raw}, true
	}
	var (
		u     decodeUnknown
		found bool
	)
	// Range visits populated fields in an undefined order; walk the
	// descriptor instead so that the reported path is deterministic.
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len() && !found; i++ {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		name := joinPath(path, string(fd.Name()))
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				continue
			}
			m.Get(fd).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
				u, found = decodeFindUnknown(v.Message(), name+"["+k.String()+"]")
				return !found
			})
		case fd.IsList():
			if fd.Message() == nil {
				continue
			}
			l := m.Get(fd).List()
			for j := 0; j < l.Len() && !found; j++ {
				u, found = decodeFindUnknown(l.Get(j).Message(), name+"["+strconv.Itoa(j)+"]")
			}
		case fd.Message() != nil:
			u, found = decodeFindUnknown(m.Get(fd).Message(), name)
		}
	}
	return u, found
}

// describe describes the first unknown field without echoing its content.
// The parser also keeps a known field number as unknown when its wire
// type does not match the field's type.
func (u decodeUnknown) describe() string {
	num, typ, n := protowire.ConsumeTag(u.raw)
	if n < 0 {
		return fmt.Sprintf("%d bytes of unknown fields in %s", len(u.raw), u.path)
	}
	if fd := u.desc.Fields().ByNumber(num); fd != nil {
		return fmt.Sprintf("field number %d (%s) as %s, which does not match its type %s, in %s",
			num, fd.Name(), decodeWireType(typ), fd.Kind(), u.path)
	}
	return fmt.Sprintf("unknown field number %d (%s) in %s (%d bytes of unknown fields there)",
		num, decodeWireType(typ), u.path, len(u.raw))
}

// decodeWireType names a protobuf wire type.
func decodeWireType(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "a varint"
	case protowire.Fixed32Type:
		return "a fixed32"
	case protowire.Fixed64Type:
		return "a fixed64"
	case protowire.BytesType:
		return "length-delimited bytes"
	case protowire.StartGroupType, protowire.EndGroupType:
		return "a group"
	}
	return fmt.Sprintf("wire type %d", t)
}
