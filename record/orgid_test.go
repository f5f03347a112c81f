// SPDX-License-Identifier: Apache-2.0

package record

import (
	"errors"
	"strings"
	"testing"
)

func TestParseOrgID(t *testing.T) {
	id100 := strings.Repeat("東", 100)
	tests := []struct {
		in   string
		want OrgID
	}{
		{"JP-JCN-8000020130001", OrgID{"JP-JCN", "8000020130001"}},
		{"JP-JCN-1180301018771", OrgID{"JP-JCN", "1180301018771"}},
		{"GB-COH-01234567", OrgID{"GB-COH", "01234567"}},
		{"XI-LEI-5493001KJTIIGC8Y1R12", OrgID{"XI-LEI", "5493001KJTIIGC8Y1R12"}},
		{"XM-DAC-41114", OrgID{"XM-DAC", "41114"}},
		{"US-EIN-12-3456789", OrgID{"US-EIN", "12-3456789"}},
		{"GB-CHC-1234-5", OrgID{"GB-CHC", "1234-5"}},
		{"XI-IATI-EU", OrgID{"XI-IATI", "EU"}},
		{"AB-12345-x", OrgID{"AB-12345", "x"}},
		{"JP-XX--", OrgID{"JP-XX", "-"}},
		{"JP-ABC-" + id100, OrgID{"JP-ABC", id100}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseOrgID(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseOrgID(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("ParseOrgID(%q).String() = %q, want %q", tt.in, s, tt.in)
			}
		})
	}
}

func TestParseOrgIDErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrFormat},
		{"JP", ErrFormat},
		{"JP-JCN", ErrFormat},
		{"JP-JCN-", ErrFormat},
		{"jp-jcn-8000020130001", ErrFormat},
		{"JP-J-1", ErrFormat},
		{"JP-ABCDEF-1", ErrFormat},
		{"JPN-JCN-1", ErrFormat},
		{"J1-JCN-1", ErrFormat},
		{"JP_JCN_1", ErrFormat},
		{" JP-JCN-8000020130001", ErrFormat},
		{"JP-JCN-8000020130001 ", ErrFormat},
		{"GB-COH-12 34", ErrFormat},
		{"GB-COH-\t1", ErrFormat},
		{"GB-COH-a\u00a0b", ErrFormat}, // no-break space
		{"GB-COH-a\u3000b", ErrFormat}, // ideographic space
		{"GB-COH-\u200b1", ErrFormat},  // zero-width space (Cf)
		{"GB-COH-1\u202e", ErrFormat},  // right-to-left override (Cf)
		{"GB-COH-\x7f", ErrFormat},
		{"GB-COH-\xff", ErrFormat},
		{"GB-COH-" + strings.Repeat("a", 101), ErrOutOfRange},
		{"JP-JCN-1234", ErrFormat},
		{"JP-JCN-８000020130001", ErrFormat},
		{"JP-JCN-8000020130002", ErrCheckDigit},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseOrgID(tt.in)
			if !isFieldError(err, tt.want) {
				t.Fatalf("ParseOrgID(%q) = %+v, %v, want *FieldError wrapping %v", tt.in, got, err, tt.want)
			}
			if got != (OrgID{}) {
				t.Errorf("ParseOrgID(%q) = %+v on error, want zero OrgID", tt.in, got)
			}
			if fe := err.(*FieldError); fe.Got != quote(tt.in) {
				t.Errorf("ParseOrgID(%q) error Got = %s, want %s", tt.in, fe.Got, quote(tt.in))
			}
		})
	}
}

func TestParseOrgIDMessage(t *testing.T) {
	_, err := ParseOrgID("JP-JCN-1234")
	const want = `record.publisher.id: got "JP-JCN-1234", want a 13-digit corporate number with a valid check digit`
	if got := At("record.publisher.id", err); got == nil || got.Error() != want {
		t.Errorf("At(record.publisher.id, ParseOrgID(JP-JCN-1234)) = %v, want %q", got, want)
	}
}

func TestNewOrgID(t *testing.T) {
	tests := []struct {
		scheme, id string
		want       error
	}{
		{"JP-JCN", "8000020130001", nil},
		{"GB-COH", "01234567", nil},
		{"JP-JCN", "8000020130002", ErrCheckDigit},
		{"JP-JC-N", "1", ErrFormat},
		{"JP", "JCN-8000020130001", ErrFormat},
		{"JP-JCN-", "8000020130001", ErrFormat},
		{"", "", ErrFormat},
		{"GB-COH", "", ErrFormat},
	}
	for _, tt := range tests {
		got, err := NewOrgID(tt.scheme, tt.id)
		if tt.want == nil {
			if err != nil || got != (OrgID{tt.scheme, tt.id}) {
				t.Errorf("NewOrgID(%q, %q) = %+v, %v, want valid", tt.scheme, tt.id, got, err)
			}
			continue
		}
		if !isFieldError(err, tt.want) {
			t.Errorf("NewOrgID(%q, %q) = %+v, %v, want *FieldError wrapping %v", tt.scheme, tt.id, got, err, tt.want)
		}
	}
}

func TestOrgIDAccessors(t *testing.T) {
	o, err := OrgIDForCorporateNumber("8000020130001")
	if err != nil || o.String() != "JP-JCN-8000020130001" {
		t.Fatalf("OrgIDForCorporateNumber(8000020130001) = %v, %v, want JP-JCN-8000020130001", o, err)
	}
	if got := o.Country(); got != "JP" {
		t.Errorf("Country() = %q, want JP", got)
	}
	if cn, ok := o.CorporateNumber(); !ok || cn != "8000020130001" {
		t.Errorf("CorporateNumber() = %q, %t, want 8000020130001, true", cn, ok)
	}
	if _, err := OrgIDForCorporateNumber("8000020130002"); !errors.Is(err, ErrCheckDigit) {
		t.Errorf("OrgIDForCorporateNumber(8000020130002) error = %v, want ErrCheckDigit", err)
	}
	g := OrgID{"GB-COH", "01234567"}
	if cn, ok := g.CorporateNumber(); ok {
		t.Errorf("GB-COH CorporateNumber() = %q, true, want false", cn)
	}
	if got := (OrgID{}).Country(); got != "" {
		t.Errorf("OrgID{}.Country() = %q, want empty", got)
	}
	if err := (OrgID{}).Validate(); !isFieldError(err, ErrFormat) {
		t.Errorf("OrgID{}.Validate() = %v, want ErrFormat", err)
	}
}

func FuzzParseOrgID(f *testing.F) {
	for _, s := range []string{
		"JP-JCN-8000020130001", "JP-JCN-1234", "GB-COH-01234567", "XI-LEI-5493001KJTIIGC8Y1R12",
		"US-EIN-12-3456789", "JP-ABCDEF-1", "GB-COH-\u200b1", "GB-COH-\xff", "", "JP--", "JP-JCN-東京",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOrgID(s)
		if err != nil {
			if !isFieldError(err, ErrFormat, ErrOutOfRange, ErrCheckDigit) {
				t.Fatalf("ParseOrgID(%q) error = %#v, want *FieldError with a sentinel", s, err)
			}
			if got := err.(*FieldError).Got; got != quote(s) {
				t.Fatalf("ParseOrgID(%q) error Got = %s, want %s", s, got, quote(s))
			}
			if o != (OrgID{}) {
				t.Fatalf("ParseOrgID(%q) = %+v with error, want zero", s, o)
			}
			return
		}
		if o.String() != s {
			t.Fatalf("ParseOrgID(%q).String() = %q", s, o.String())
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("ParseOrgID(%q).Validate() = %v", s, err)
		}
		if n, err := NewOrgID(o.Scheme, o.ID); err != nil || n != o {
			t.Fatalf("NewOrgID(%q, %q) = %+v, %v, want %+v", o.Scheme, o.ID, n, err, o)
		}
		if len(o.Scheme) < 5 || len(o.Scheme) > 8 || strings.Count(o.Scheme, "-") != 1 || o.ID == "" {
			t.Fatalf("ParseOrgID(%q) = %+v: bad split", s, o)
		}
		if strings.ContainsAny(o.ID, " \t\r\n") {
			t.Fatalf("ParseOrgID(%q) accepted white space in id", s)
		}
		if cn, ok := o.CorporateNumber(); ok {
			if err := ValidateCorporateNumber(cn); err != nil {
				t.Fatalf("ParseOrgID(%q) accepted invalid corporate number: %v", s, err)
			}
		}
	})
}
