// SPDX-License-Identifier: Apache-2.0

package record

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"maps"
	"strings"
	"testing"
)

// Known answers computed independently (Python hashlib/struct).
const (
	kaCanonicalHex  = "616b617368692e706572736f6e616c2d646174612e763100000000020000000a62697274685f646174650000000a313938302d30312d3032000000046e616d650000000ce5b1b1e794b0e5a4aae9838e"
	kaCommitmentHex = "409eb91b984c6f119728f838ac8335a77d04f10ea935b5f69362724b8916b772"
)

var kaFields = map[string]string{"name": "山田太郎", "birth_date": "1980-01-02"}

func kaSalt() (s [SaltSize]byte) {
	for i := range s {
		s[i] = byte(i)
	}
	return s
}

func TestCommitKnownAnswer(t *testing.T) {
	canonical, err := CanonicalPersonalData(kaFields)
	if err != nil {
		t.Fatalf("CanonicalPersonalData(%v) = %v", kaFields, err)
	}
	if got := hex.EncodeToString(canonical); got != kaCanonicalHex {
		t.Errorf("CanonicalPersonalData(%v) = %s, want %s", kaFields, got, kaCanonicalHex)
	}
	c := Commit(kaSalt(), canonical)
	if got := hex.EncodeToString(c[:]); got != kaCommitmentHex {
		t.Errorf("Commit(0..31, canonical) = %s, want %s", got, kaCommitmentHex)
	}
}

func TestVerifyCommitment(t *testing.T) {
	salt := NewSalt()
	canonical, _ := CanonicalPersonalData(kaFields)
	c := Commit(salt, canonical)
	if !VerifyCommitment(salt, canonical, c) {
		t.Fatalf("VerifyCommitment(salt, canonical, Commit(salt, canonical)) = false, want true")
	}
	otherSalt := salt
	otherSalt[31] ^= 1
	otherData, _ := CanonicalPersonalData(map[string]string{"name": "山田太郎", "birth_date": "1980-01-03"})
	otherCommit := c
	otherCommit[0] ^= 0x80
	tests := []struct {
		name      string
		salt      [SaltSize]byte
		canonical []byte
		c         [CommitmentSize]byte
	}{
		{"other salt", otherSalt, canonical, c},
		{"other data", salt, otherData, c},
		{"other commitment", salt, canonical, otherCommit},
		{"unsalted", [SaltSize]byte{}, canonical, c},
	}
	for _, tt := range tests {
		if VerifyCommitment(tt.salt, tt.canonical, tt.c) {
			t.Errorf("VerifyCommitment(%s) = true, want false", tt.name)
		}
	}
}

func TestNewSalt(t *testing.T) {
	a, b := NewSalt(), NewSalt()
	if a == b || a == ([SaltSize]byte{}) {
		t.Errorf("NewSalt() = %x, %x: want distinct non-zero salts", a, b)
	}
}

func TestCommitmentFromBytes(t *testing.T) {
	want := Commit(kaSalt(), nil)
	if got, err := CommitmentFromBytes(want[:]); err != nil || got != want {
		t.Errorf("CommitmentFromBytes(%x) = %x, %v, want %x", want, got, err, want)
	}
	for _, n := range []int{0, 31, 33} {
		if _, err := CommitmentFromBytes(make([]byte, n)); !isFieldError(err, ErrFormat) {
			t.Errorf("CommitmentFromBytes(%d bytes) error = %v, want ErrFormat", n, err)
		}
	}
}

func TestCanonicalPersonalDataUnambiguous(t *testing.T) {
	sets := []map[string]string{
		{"a": "bc"},
		{"ab": "c"},
		{"a": "b", "c": "d"},
		{"a": "bc", "d": "e"},
		{"a": "b\x00\x00\x00\x01c"},
		{"name": "山田太郎"},
		{"name": "山田 太郎"},
		{"name": "ﾔﾏﾀﾞ"}, // half-width katakana: not normalised
		{"name": "ヤマダ"},
	}
	seen := map[string]int{}
	for i, fs := range sets {
		b, err := CanonicalPersonalData(fs)
		if err != nil {
			t.Fatalf("CanonicalPersonalData(%q) = %v", fs, err)
		}
		if j, dup := seen[string(b)]; dup {
			t.Errorf("CanonicalPersonalData(%q) == CanonicalPersonalData(%q)", fs, sets[j])
		}
		seen[string(b)] = i
		back, err := ParseCanonicalPersonalData(b)
		if err != nil || !maps.Equal(back, fs) {
			t.Errorf("ParseCanonicalPersonalData(CanonicalPersonalData(%q)) = %q, %v", fs, back, err)
		}
		for range 5 { // map iteration order must not matter
			if again, _ := CanonicalPersonalData(maps.Clone(fs)); !bytes.Equal(again, b) {
				t.Fatalf("CanonicalPersonalData(%q) is not deterministic", fs)
			}
		}
	}
}

func TestCanonicalPersonalDataErrors(t *testing.T) {
	const secret = "山田太郎-SECRET"
	many := map[string]string{}
	for i := range 65 {
		many["k"+strings.Repeat("x", i)] = "v"
	}
	tests := []struct {
		name   string
		fields map[string]string
		want   string
		is     error
	}{
		{"nil", nil, "got 0 fields, want 1-64 fields", ErrOutOfRange},
		{"too many", many, "got 65 fields, want 1-64 fields", ErrOutOfRange},
		{"uppercase key", map[string]string{"Name": secret}, `["Name"]: got "Name", want a key of 1-64 bytes matching [a-z][a-z0-9_]*`, ErrFormat},
		{"digit first", map[string]string{"1a": secret}, `["1a"]: got "1a", want a key of 1-64 bytes matching [a-z][a-z0-9_]*`, ErrFormat},
		{"empty key", map[string]string{"": secret}, `[""]: got "", want a key of 1-64 bytes matching [a-z][a-z0-9_]*`, ErrOutOfRange},
		{"long key", map[string]string{strings.Repeat("a", 65): secret}, "", ErrOutOfRange},
		{"empty value", map[string]string{"name": ""}, `["name"]: got a value of 0 bytes, want a value of 1-4096 bytes of valid UTF-8`, ErrOutOfRange},
		{"long value", map[string]string{"name": strings.Repeat(secret, 1000)}, `["name"]: got a value of 19000 bytes, want a value of 1-4096 bytes of valid UTF-8`, ErrOutOfRange},
		{"bad utf8", map[string]string{"name": secret + "\xff"}, `["name"]: got a value of 20 bytes that is not valid UTF-8, want a value of 1-4096 bytes of valid UTF-8`, ErrFormat},
		{"two errors", map[string]string{"b": "", "A": secret}, `["A"]: got "A", want a key of 1-64 bytes matching [a-z][a-z0-9_]*; ["b"]: got a value of 0 bytes, want a value of 1-4096 bytes of valid UTF-8`, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := CanonicalPersonalData(tt.fields)
			if err == nil || b != nil {
				t.Fatalf("CanonicalPersonalData = %q, %v, want error", b, err)
			}
			if tt.want != "" && err.Error() != tt.want {
				t.Errorf("CanonicalPersonalData error = %q, want %q", err, tt.want)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("CanonicalPersonalData error = %v, want errors.Is %v", err, tt.is)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("CanonicalPersonalData error %q reveals a value", err)
			}
		})
	}
}

func TestParseCanonicalPersonalDataErrors(t *testing.T) {
	good, _ := CanonicalPersonalData(map[string]string{"a": "1", "b": "2"})
	u32 := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tag := []byte(canonicalTag)
	field := func(k, v string) []byte { return cat(u32(uint32(len(k))), []byte(k), u32(uint32(len(v))), []byte(v)) }
	tests := []struct {
		name string
		in   []byte
		is   error
	}{
		{"empty", nil, ErrFormat},
		{"wrong tag", cat([]byte("akashi.personal-data.v2\x00"), good[len(tag):]), ErrFormat},
		{"no count", tag, ErrFormat},
		{"zero fields", cat(tag, u32(0)), ErrOutOfRange},
		{"65 fields", cat(tag, u32(65)), ErrOutOfRange},
		{"truncated", good[:len(good)-1], ErrFormat},
		{"trailing", cat(good, []byte{0}), ErrFormat},
		{"huge key length", cat(tag, u32(1), u32(0xffffffff)), ErrFormat},
		{"huge value length", cat(tag, u32(1), u32(1), []byte("a"), u32(0xffffffff)), ErrFormat},
		{"out of order", cat(tag, u32(2), field("b", "2"), field("a", "1")), ErrFormat},
		{"duplicate", cat(tag, u32(2), field("a", "1"), field("a", "2")), ErrFormat},
		{"bad key", cat(tag, u32(1), field("A", "1")), ErrFormat},
		{"empty value", cat(tag, u32(1), field("a", "")), ErrOutOfRange},
		{"bad utf8", cat(tag, u32(1), field("a", "\xff")), ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseCanonicalPersonalData(tt.in)
			if m != nil || !isFieldError(err, tt.is) {
				t.Errorf("ParseCanonicalPersonalData(%x) = %v, %v, want *FieldError wrapping %v", tt.in, m, err, tt.is)
			}
		})
	}
	if m, err := ParseCanonicalPersonalData(good); err != nil || len(m) != 2 {
		t.Errorf("ParseCanonicalPersonalData(good) = %v, %v", m, err)
	}
}

func TestPayeeID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewPayeeID()
		if err := ValidatePayeeID(id); err != nil {
			t.Fatalf("ValidatePayeeID(NewPayeeID() = %q) = %v", id, err)
		}
		if seen[id] {
			t.Fatalf("NewPayeeID() repeated %q", id)
		}
		seen[id] = true
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"P-4XKZ7Q2M5NBT3WJ6YH2LR7DPGE", true},
		{"P-AAAAAAAAAAAAAAAAAAAAAAAAAA", true},
		{"P-77777777777777777777777774", true},
		{"P-77777777777777777777777777", false}, // non-zero trailing bits
		{"P-4XKZ7Q2M5NBT3WJ6YH2LR7DPGF", false}, // non-zero trailing bits
		{"p-4XKZ7Q2M5NBT3WJ6YH2LR7DPGE", false},
		{"P-4xkz7q2m5nbt3wj6yh2lr7dpge", false},
		{"P-4XKZ7Q2M5NBT3WJ6YH2LR7DPG", false},
		{"P-4XKZ7Q2M5NBT3WJ6YH2LR7DPGEA", false},
		{"Q-4XKZ7Q2M5NBT3WJ6YH2LR7DPGE", false},
		{"P_4XKZ7Q2M5NBT3WJ6YH2LR7DPGE", false},
		{"P-0XKZ7Q2M5NBT3WJ6YH2LR7DPGE", false},
		{"P-1XKZ7Q2M5NBT3WJ6YH2LR7DPGE", false},
		{"P-8XKZ7Q2M5NBT3WJ6YH2LR7DPGE", false},
		{"P-4XKZ7Q2M5NBT\nWJ6YH2LR7DPGE", false},
		{"P-4XKZ7Q2M5NBT3WJ6YH2LR7DP==", false},
		{"", false},
	}
	for _, tt := range tests {
		err := ValidatePayeeID(tt.in)
		if tt.want != (err == nil) || (err != nil && !isFieldError(err, ErrFormat)) {
			t.Errorf("ValidatePayeeID(%q) = %v, want valid = %t", tt.in, err, tt.want)
		}
	}
}

func FuzzParseCanonicalPersonalData(f *testing.F) {
	good, _ := CanonicalPersonalData(kaFields)
	f.Add(good)
	f.Add([]byte(canonicalTag))
	f.Add([]byte{})
	f.Add(append([]byte(canonicalTag), 0, 0, 0, 1, 0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b'))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseCanonicalPersonalData(b)
		if err != nil {
			if m != nil || !isFieldError(err, ErrFormat, ErrOutOfRange) {
				t.Fatalf("ParseCanonicalPersonalData(%x) = %v, %#v", b, m, err)
			}
			return
		}
		again, err := CanonicalPersonalData(m)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("CanonicalPersonalData(ParseCanonicalPersonalData(%x)) = %x, %v: not canonical", b, again, err)
		}
	})
}

func FuzzCanonicalPersonalData(f *testing.F) {
	f.Add("name", "山田太郎", "birth_date", "1980-01-02")
	f.Add("a", "bc", "ab", "c")
	f.Add("a", "", "A", "\xff")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		fields := map[string]string{k1: v1, k2: v2}
		b, err := CanonicalPersonalData(fields)
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("CanonicalPersonalData(%q) error = %#v, want Errors", fields, err)
			}
			// The error may quote the keys (cut as quote cuts them); apart
			// from them, no value of eight bytes or more may show.
			rest := err.Error()
			for _, k := range []string{k1, k2} {
				rest = strings.ReplaceAll(rest, quote(k), "")
			}
			for _, v := range []string{v1, v2} {
				if len(v) >= 8 && strings.Contains(rest, v) {
					t.Fatalf("CanonicalPersonalData(%q) error %q reveals a value", fields, err)
				}
			}
			return
		}
		back, err := ParseCanonicalPersonalData(b)
		if err != nil || !maps.Equal(back, fields) {
			t.Fatalf("ParseCanonicalPersonalData(CanonicalPersonalData(%q)) = %q, %v", fields, back, err)
		}
	})
}

func FuzzValidatePayeeID(f *testing.F) {
	f.Add("P-4XKZ7Q2M5NBT3WJ6YH2LR7DPGE")
	f.Add("P-4XKZ7Q2M5NBT3WJ6YH2LR7DPGF")
	f.Add("P-4XKZ7Q2M5NBT\nWJ6YH2LR7DPGE")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidatePayeeID(s)
		if err != nil {
			if !isFieldError(err, ErrFormat) {
				t.Fatalf("ValidatePayeeID(%q) error = %#v, want *FieldError wrapping ErrFormat", s, err)
			}
			return
		}
		raw, derr := payeeEncoding.DecodeString(strings.TrimPrefix(s, PayeeIDPrefix))
		if derr != nil || len(raw) != payeeIDBytes {
			t.Fatalf("ValidatePayeeID(%q) = nil but decoding gives %x, %v", s, raw, derr)
		}
		if again := PayeeIDPrefix + payeeEncoding.EncodeToString(raw); again != s {
			t.Fatalf("ValidatePayeeID(%q) = nil but re-encoding gives %q", s, again)
		}
	})
}
