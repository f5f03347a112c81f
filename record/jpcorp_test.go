// SPDX-License-Identifier: Apache-2.0

package record

import (
	"errors"
	"testing"
)

func TestCorporateNumberCheckDigit(t *testing.T) {
	tests := []struct {
		base    string
		want    int
		wantErr bool
	}{
		{"180301018771", 1, false},
		{"000020278670", 3, false},
		{"000020130001", 8, false},
		{"000000000000", 9, false},
		{"18030101877", 0, true},
		{"1803010187711", 0, true},
		{"18030101877a", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			got, err := CorporateNumberCheckDigit(tt.base)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("CorporateNumberCheckDigit(%q) = %d, %v, want %d, error %t", tt.base, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !isFieldError(err, ErrFormat) {
				t.Errorf("CorporateNumberCheckDigit(%q) error = %#v, want *FieldError wrapping ErrFormat", tt.base, err)
			}
		})
	}
}

func TestValidateCorporateNumber(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"1180301018771", nil},
		{"3000020278670", nil},
		{"8000020130001", nil},
		{"9000000000000", nil},
		{"2180301018771", ErrCheckDigit},
		{"7000020130001", ErrCheckDigit},
		{"8000020130002", ErrCheckDigit},
		{"0000000000000", ErrCheckDigit},
		{"800002013000", ErrFormat},
		{"80000201300011", ErrFormat},
		{"8-000020-130001", ErrFormat},
		{"８000020130001", ErrFormat},
		{" 8000020130001", ErrFormat},
		{"8000020130001\n", ErrFormat},
		{"", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := ValidateCorporateNumber(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Errorf("ValidateCorporateNumber(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			if !isFieldError(err, tt.want) {
				t.Errorf("ValidateCorporateNumber(%q) = %v, want *FieldError wrapping %v", tt.in, err, tt.want)
			}
		})
	}
	const wantMsg = `got "1234", want a 13-digit corporate number with a valid check digit`
	if err := ValidateCorporateNumber("1234"); err == nil || err.Error() != wantMsg {
		t.Errorf("ValidateCorporateNumber(%q) = %v, want %q", "1234", err, wantMsg)
	}
}

func TestCorporateNumberFromBase(t *testing.T) {
	for _, want := range []string{"1180301018771", "3000020278670", "8000020130001"} {
		got, err := CorporateNumberFromBase(want[1:])
		if err != nil || got != want {
			t.Errorf("CorporateNumberFromBase(%q) = %q, %v, want %q", want[1:], got, err, want)
		}
	}
	if got, err := CorporateNumberFromBase("12345"); err == nil {
		t.Errorf("CorporateNumberFromBase(%q) = %q, nil, want error", "12345", got)
	}
}

func TestLocalGovernmentCorporateNumber(t *testing.T) {
	tests := []struct {
		lgCode, want string
	}{
		{"130001", "8000020130001"},
		{"278670", "3000020278670"},
	}
	for _, tt := range tests {
		got, err := LocalGovernmentCorporateNumber(tt.lgCode)
		if err != nil || got != tt.want {
			t.Errorf("LocalGovernmentCorporateNumber(%q) = %q, %v, want %q", tt.lgCode, got, err, tt.want)
		}
	}
	for _, bad := range []string{"130002", "13000", "480002", ""} {
		if got, err := LocalGovernmentCorporateNumber(bad); err == nil {
			t.Errorf("LocalGovernmentCorporateNumber(%q) = %q, nil, want error", bad, got)
		}
	}
	// Every prefecture and a few municipalities round-trip.
	codes := []string{"131016", "131041", "131130"}
	for _, p := range Prefectures() {
		codes = append(codes, p.Code)
	}
	for _, code := range codes {
		cn, err := LocalGovernmentCorporateNumber(code)
		if err != nil {
			t.Fatalf("LocalGovernmentCorporateNumber(%q) = %v", code, err)
		}
		if err := ValidateCorporateNumber(cn); err != nil {
			t.Errorf("ValidateCorporateNumber(LocalGovernmentCorporateNumber(%q)) = %v, want nil", code, err)
		}
		back, err := LocalGovernmentCodeFromCorporateNumber(cn)
		if err != nil || back != code {
			t.Errorf("LocalGovernmentCodeFromCorporateNumber(%q) = %q, %v, want %q", cn, back, err, code)
		}
	}
}

func TestLocalGovernmentCodeFromCorporateNumber(t *testing.T) {
	// A corporate number with the local government infix whose embedded
	// code has a wrong check digit.
	badEmbedded, err := CorporateNumberFromBase("000020130002")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"8000020130001", "130001", nil},
		{"3000020278670", "278670", nil},
		{"1180301018771", "", ErrNotLocalGovernment},
		{"7000020130001", "", ErrCheckDigit},
		{badEmbedded, "", ErrCheckDigit},
		{"800002013000", "", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := LocalGovernmentCodeFromCorporateNumber(tt.in)
			if got != tt.want {
				t.Errorf("LocalGovernmentCodeFromCorporateNumber(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if tt.wantErr == nil && err != nil {
				t.Errorf("LocalGovernmentCodeFromCorporateNumber(%q) error = %v, want nil", tt.in, err)
			}
			if tt.wantErr != nil && !isFieldError(err, tt.wantErr) {
				t.Errorf("LocalGovernmentCodeFromCorporateNumber(%q) error = %v, want *FieldError wrapping %v", tt.in, err, tt.wantErr)
			}
		})
	}
}

func FuzzCorporateNumber(f *testing.F) {
	for _, s := range []string{
		"1180301018771", "3000020278670", "8000020130001", "8000020130002",
		"800002013000", "８000020130001", "", "0000000000000", "9000020999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateCorporateNumber(s)
		want := false
		if isDigits(s, 13) {
			c, cerr := CorporateNumberCheckDigit(s[1:])
			if cerr != nil {
				t.Fatalf("CorporateNumberCheckDigit(%q) = %v on 12 digits", s[1:], cerr)
			}
			if c < 1 || c > 9 {
				t.Fatalf("CorporateNumberCheckDigit(%q) = %d, want 1..9", s[1:], c)
			}
			want = int(s[0]-'0') == c
			full, ferr := CorporateNumberFromBase(s[1:])
			if ferr != nil || full[1:] != s[1:] || ValidateCorporateNumber(full) != nil {
				t.Fatalf("CorporateNumberFromBase(%q) = %q, %v: not a valid completion", s[1:], full, ferr)
			}
		}
		if (err == nil) != want {
			t.Fatalf("ValidateCorporateNumber(%q) = %v, check digit says valid = %t", s, err, want)
		}
		if err != nil {
			if !isFieldError(err, ErrFormat, ErrCheckDigit) {
				t.Fatalf("ValidateCorporateNumber(%q) error = %#v, want *FieldError wrapping ErrFormat or ErrCheckDigit", s, err)
			}
			return
		}
		if _, err := ParseOrgID(SchemeJPJCN + "-" + s); err != nil {
			t.Fatalf("ParseOrgID(JP-JCN-%s) = %v for a valid corporate number", s, err)
		}
		code, err := LocalGovernmentCodeFromCorporateNumber(s)
		if err != nil {
			if errors.Is(err, ErrFormat) {
				t.Fatalf("LocalGovernmentCodeFromCorporateNumber(%q) = %v: ErrFormat for a valid corporate number", s, err)
			}
			return
		}
		back, err := LocalGovernmentCorporateNumber(code)
		if err != nil || back != s {
			t.Fatalf("LocalGovernmentCorporateNumber(%q) = %q, %v, want %q", code, back, err, s)
		}
	})
}
