// SPDX-License-Identifier: Apache-2.0

package record

import (
	"slices"
	"testing"
)

func TestCurrencyExponent(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{"JPY", 0}, {"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"CNY", 2}, {"KRW", 0},
		{"KWD", 3}, {"BHD", 3}, {"IQD", 3}, {"JOD", 3}, {"LYD", 3}, {"OMR", 3}, {"TND", 3},
		{"CLF", 4}, {"UYW", 4}, {"CLP", 0}, {"ISK", 0}, {"VND", 0}, {"UGX", 0},
		{"XAF", 0}, {"XOF", 0}, {"XPF", 0}, {"PYG", 0}, {"UYI", 0}, {"VUV", 0},
		{"CHF", 2}, {"INR", 2}, {"IDR", 2}, {"HUF", 2}, {"TWD", 2}, {"MGA", 2}, {"MRU", 2},
		{"XCG", 2}, {"ZWG", 2}, {"SLE", 2}, {"VED", 2}, {"VES", 2}, {"XAD", 2}, {"STN", 2},
		{"USN", 2}, {"CHE", 2}, {"MXV", 2}, {"XCD", 2},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, err := CurrencyExponent(tt.code)
			if err != nil || got != tt.want {
				t.Errorf("CurrencyExponent(%q) = %d, %v, want %d", tt.code, got, err, tt.want)
			}
			if err := ValidateCurrency(tt.code); err != nil {
				t.Errorf("ValidateCurrency(%q) = %v, want nil", tt.code, err)
			}
		})
	}
}

func TestCurrencyExponentErrors(t *testing.T) {
	tests := []struct {
		code string
		want error
	}{
		{"", ErrFormat}, {"JP", ErrFormat}, {"JPYY", ErrFormat}, {"jpy", ErrFormat},
		{"Jpy", ErrFormat}, {"JP1", ErrFormat}, {" JPY", ErrFormat}, {"ＪＰＹ", ErrFormat},
		{"ABC", ErrUnknownCode}, {"ZZZ", ErrUnknownCode},
		// Withdrawn codes.
		{"ANG", ErrUnknownCode}, {"BGN", ErrUnknownCode}, {"CUC", ErrUnknownCode},
		{"HRK", ErrUnknownCode}, {"SLL", ErrUnknownCode}, {"ZWL", ErrUnknownCode},
		{"VEF", ErrUnknownCode}, {"MRO", ErrUnknownCode}, {"STD", ErrUnknownCode},
		{"LTL", ErrUnknownCode}, {"DEM", ErrUnknownCode}, {"BYR", ErrUnknownCode},
		// Codes without a minor unit.
		{"XAU", ErrNoMinorUnit}, {"XAG", ErrNoMinorUnit}, {"XPT", ErrNoMinorUnit},
		{"XPD", ErrNoMinorUnit}, {"XDR", ErrNoMinorUnit}, {"XSU", ErrNoMinorUnit},
		{"XUA", ErrNoMinorUnit}, {"XBA", ErrNoMinorUnit}, {"XBB", ErrNoMinorUnit},
		{"XBC", ErrNoMinorUnit}, {"XBD", ErrNoMinorUnit}, {"XTS", ErrNoMinorUnit},
		{"XXX", ErrNoMinorUnit},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, err := CurrencyExponent(tt.code)
			if !isFieldError(err, tt.want) || got != 0 {
				t.Errorf("CurrencyExponent(%q) = %d, %v, want 0, *FieldError wrapping %v", tt.code, got, err, tt.want)
			}
		})
	}
	const want = `record.amount.currency: got "jpy", want an active ISO 4217 currency code such as "JPY"`
	_, err := CurrencyExponent("jpy")
	if got := At("record.amount.currency", err); got == nil || got.Error() != want {
		t.Errorf("At(..., CurrencyExponent(jpy)) = %v, want %q", got, want)
	}
}

func TestCurrencyTable(t *testing.T) {
	// ISO 4217 List One from 2026-01-01 has 178 alphabetic codes, 13 of
	// them without a minor unit.
	if got := len(currencyExponents); got != 178 {
		t.Errorf("len(currencyExponents) = %d, want 178", got)
	}
	codes := CurrencyCodes()
	if len(codes) != 165 {
		t.Errorf("len(CurrencyCodes()) = %d, want 165", len(codes))
	}
	if !slices.IsSorted(codes) {
		t.Errorf("CurrencyCodes() is not sorted")
	}
	for code, e := range currencyExponents {
		if len(code) != 3 || !isUpper(code[0]) || !isUpper(code[1]) || !isUpper(code[2]) {
			t.Errorf("table code %q is not three uppercase letters", code)
		}
		switch e {
		case 0, 2, 3, 4, noMinorUnit:
		default:
			t.Errorf("table exponent of %s = %d, want 0, 2, 3, 4 or noMinorUnit", code, e)
		}
		_, inCodes := slices.BinarySearch(codes, code)
		if inCodes != (e != noMinorUnit) {
			t.Errorf("CurrencyCodes() contains %s = %t, want %t", code, inCodes, e != noMinorUnit)
		}
	}
}

func FuzzCurrencyExponent(f *testing.F) {
	for _, s := range []string{"JPY", "USD", "KWD", "XAU", "ANG", "jpy", "", "JPYY"} {
		f.Add(s)
	}
	codes := CurrencyCodes()
	f.Fuzz(func(t *testing.T, s string) {
		e, err := CurrencyExponent(s)
		_, listed := slices.BinarySearch(codes, s)
		if (err == nil) != listed {
			t.Fatalf("CurrencyExponent(%q) = %d, %v, but listed in CurrencyCodes = %t", s, e, err, listed)
		}
		if err != nil {
			if !isFieldError(err, ErrFormat, ErrUnknownCode, ErrNoMinorUnit) {
				t.Fatalf("CurrencyExponent(%q) error = %#v, want *FieldError with a sentinel", s, err)
			}
			return
		}
		if e != 0 && e != 2 && e != 3 && e != 4 {
			t.Fatalf("CurrencyExponent(%q) = %d, want 0, 2, 3 or 4", s, e)
		}
	})
}
