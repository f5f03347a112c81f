// SPDX-License-Identifier: Apache-2.0

package record

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// TestDecodeRejectsNonCanonical checks that the same statement in another
// encoding is refused: a repeated field hiding a second value, fields out
// of order, an explicit default value.
func TestDecodeRejectsNonCanonical(t *testing.T) {
	st := &akashiv1.Statement{Sequence: 3, Previous: make([]byte, 32)}
	canon, err := proto.MarshalOptions{Deterministic: true}.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeStatement(canon); err != nil {
		t.Fatalf("DecodeStatement(canonical) = %v", err)
	}
	seq := func(v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), v)
	}
	prev := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), make([]byte, 32))
	for name, b := range map[string][]byte{
		"field twice":    append(append(seq(9), seq(3)...), prev...),
		"out of order":   append(append([]byte{}, prev...), seq(3)...),
		"explicit zero":  append(append(seq(3), prev...), protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 0)...),
		"default value ": append(seq(0), append(seq(3), prev...)...),
	} {
		if _, err := DecodeStatement(b); !errors.Is(err, ErrFormat) {
			t.Errorf("DecodeStatement(%s) = %v, want ErrFormat", name, err)
		}
	}
}
