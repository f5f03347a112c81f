// SPDX-License-Identifier: Apache-2.0

package record

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestLocalGovernmentCodeCheckDigit(t *testing.T) {
	tests := []struct {
		base    string
		want    int
		wantErr bool
	}{
		{"13000", 1, false}, // Tokyo
		{"13101", 6, false}, // Chiyoda
		{"13104", 1, false}, // Shinjuku
		{"13113", 0, false}, // Shibuya
		{"27000", 8, false}, // Osaka
		{"01000", 6, false}, // Hokkaido
		{"00000", 1, false}, // 11 - 0 = 11 -> 1
		{"1300", 0, true},
		{"130001", 0, true},
		{"1300a", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			got, err := LocalGovernmentCodeCheckDigit(tt.base)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("LocalGovernmentCodeCheckDigit(%q) = %d, %v, want %d, error %t", tt.base, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestValidateLocalGovernmentCode(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"130001", nil},
		{"131016", nil},
		{"131041", nil},
		{"131130", nil},
		{"270008", nil},
		{"278670", nil},
		{"010006", nil},
		{"470007", nil},
		{"130002", ErrCheckDigit},
		{"131017", ErrCheckDigit},
		{"480002", ErrOutOfRange}, // prefecture 48, correct check digit
		{"000001", ErrOutOfRange}, // prefecture 00, correct check digit
		{"13000", ErrFormat},
		{"1300011", ErrFormat},
		{"13000a", ErrFormat},
		{"１30001", ErrFormat},
		{"", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := ValidateLocalGovernmentCode(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Errorf("ValidateLocalGovernmentCode(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			if !isFieldError(err, tt.want) {
				t.Errorf("ValidateLocalGovernmentCode(%q) = %v, want *FieldError wrapping %v", tt.in, err, tt.want)
			}
		})
	}
}

// TestLocalGovernmentCodeAllBases checks every 5-digit base: its completion
// validates, and every other final digit is rejected.
func TestLocalGovernmentCodeAllBases(t *testing.T) {
	for n := 0; n < 100000; n++ {
		base := fmt.Sprintf("%05d", n)
		c, err := LocalGovernmentCodeCheckDigit(base)
		if err != nil {
			t.Fatalf("LocalGovernmentCodeCheckDigit(%q) = %v", base, err)
		}
		pref := n / 1000
		code, err := LocalGovernmentCodeFromBase(base)
		if pref < 1 || pref > 47 {
			if err == nil {
				t.Fatalf("LocalGovernmentCodeFromBase(%q) = %q, nil, want error (prefecture %d)", base, code, pref)
			}
			continue
		}
		if err != nil || code != base+strconv.Itoa(c) {
			t.Fatalf("LocalGovernmentCodeFromBase(%q) = %q, %v, want %q", base, code, err, base+strconv.Itoa(c))
		}
		for d := 0; d <= 9; d++ {
			s := base + strconv.Itoa(d)
			if err := ValidateLocalGovernmentCode(s); (err == nil) != (d == c) {
				t.Fatalf("ValidateLocalGovernmentCode(%q) = %v, check digit is %d", s, err, c)
			}
		}
	}
}

func TestPrefectureTable(t *testing.T) {
	ps := Prefectures()
	if len(ps) != 47 {
		t.Fatalf("len(Prefectures()) = %d, want 47", len(ps))
	}
	seen := map[string]bool{}
	for i, p := range ps {
		if p.Number != i+1 {
			t.Errorf("Prefectures()[%d].Number = %d, want %d", i, p.Number, i+1)
		}
		if want := fmt.Sprintf("%02d000", p.Number); !strings.HasPrefix(p.Code, want) {
			t.Errorf("prefecture %d Code = %q, want prefix %q", p.Number, p.Code, want)
		}
		if err := ValidateLocalGovernmentCode(p.Code); err != nil {
			t.Errorf("ValidateLocalGovernmentCode(%q) (prefecture %d) = %v, want nil", p.Code, p.Number, err)
		}
		if c, _ := LocalGovernmentCodeFromBase(p.Code[:5]); c != p.Code {
			t.Errorf("LocalGovernmentCodeFromBase(%q) = %q, want %q", p.Code[:5], c, p.Code)
		}
		if p.NameEN == "" || seen[p.NameEN] || seen[p.NameJA] {
			t.Errorf("prefecture %d names %q/%q empty or duplicated", p.Number, p.NameEN, p.NameJA)
		}
		seen[p.NameEN], seen[p.NameJA] = true, true
		if !strings.HasSuffix(p.NameJA, "都") && !strings.HasSuffix(p.NameJA, "道") &&
			!strings.HasSuffix(p.NameJA, "府") && !strings.HasSuffix(p.NameJA, "県") {
			t.Errorf("prefecture %d NameJA = %q, want suffix 都/道/府/県", p.Number, p.NameJA)
		}
		if got, ok := PrefectureByNumber(p.Number); !ok || got != p {
			t.Errorf("PrefectureByNumber(%d) = %v, %t, want %v", p.Number, got, ok, p)
		}
	}
	for _, want := range []Prefecture{
		{1, "010006", "Hokkaido", "北海道"},
		{13, "130001", "Tokyo", "東京都"},
		{26, "260002", "Kyoto", "京都府"},
		{27, "270008", "Osaka", "大阪府"},
		{47, "470007", "Okinawa", "沖縄県"},
	} {
		if got := ps[want.Number-1]; got != want {
			t.Errorf("Prefectures()[%d] = %v, want %v", want.Number-1, got, want)
		}
	}
	for _, n := range []int{0, 48, -1} {
		if got, ok := PrefectureByNumber(n); ok {
			t.Errorf("PrefectureByNumber(%d) = %v, true, want false", n, got)
		}
	}
	ps[0].NameEN = "changed"
	if p, _ := PrefectureByNumber(1); p.NameEN != "Hokkaido" {
		t.Errorf("Prefectures() returned the internal table: NameEN = %q after modification", p.NameEN)
	}
}

func TestPrefectureOf(t *testing.T) {
	tests := []struct {
		code    string
		want    int
		wantErr error
	}{
		{"131016", 13, nil},
		{"130001", 13, nil},
		{"270008", 27, nil},
		{"278670", 27, nil},
		{"131017", 0, ErrCheckDigit},
		{"480002", 0, ErrOutOfRange},
		{"13101", 0, ErrFormat},
	}
	for _, tt := range tests {
		p, err := PrefectureOf(tt.code)
		if p.Number != tt.want {
			t.Errorf("PrefectureOf(%q) = %d, want %d", tt.code, p.Number, tt.want)
		}
		if (tt.wantErr == nil) != (err == nil) || (err != nil && !isFieldError(err, tt.wantErr)) {
			t.Errorf("PrefectureOf(%q) error = %v, want %v", tt.code, err, tt.wantErr)
		}
	}
}

func FuzzLocalGovernmentCode(f *testing.F) {
	for _, s := range []string{"130001", "131016", "131041", "131130", "270008", "480002", "000001", "13000", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateLocalGovernmentCode(s)
		want := false
		if isDigits(s, 6) {
			c, cerr := LocalGovernmentCodeCheckDigit(s[:5])
			if cerr != nil {
				t.Fatalf("LocalGovernmentCodeCheckDigit(%q) = %v on 5 digits", s[:5], cerr)
			}
			pref, _ := strconv.Atoi(s[:2])
			want = int(s[5]-'0') == c && pref >= 1 && pref <= 47
		}
		if (err == nil) != want {
			t.Fatalf("ValidateLocalGovernmentCode(%q) = %v, check digit and prefecture say valid = %t", s, err, want)
		}
		if err != nil {
			if !isFieldError(err, ErrFormat, ErrOutOfRange, ErrCheckDigit) {
				t.Fatalf("ValidateLocalGovernmentCode(%q) error = %#v, want *FieldError with a sentinel", s, err)
			}
			return
		}
		if code, err := LocalGovernmentCodeFromBase(s[:5]); err != nil || code != s {
			t.Fatalf("LocalGovernmentCodeFromBase(%q) = %q, %v, want %q", s[:5], code, err, s)
		}
		p, err := PrefectureOf(s)
		if err != nil || fmt.Sprintf("%02d", p.Number) != s[:2] {
			t.Fatalf("PrefectureOf(%q) = %v, %v, want prefecture %s", s, p, err, s[:2])
		}
		cn, err := LocalGovernmentCorporateNumber(s)
		if err != nil || ValidateCorporateNumber(cn) != nil {
			t.Fatalf("LocalGovernmentCorporateNumber(%q) = %q, %v: not a valid corporate number", s, cn, err)
		}
		if back, err := LocalGovernmentCodeFromCorporateNumber(cn); err != nil || back != s {
			t.Fatalf("LocalGovernmentCodeFromCorporateNumber(%q) = %q, %v, want %q", cn, back, err, s)
		}
	})
}
