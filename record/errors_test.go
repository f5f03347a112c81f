// SPDX-License-Identifier: Apache-2.0

package record

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFieldErrorError(t *testing.T) {
	tests := []struct {
		name string
		err  *FieldError
		want string
	}{
		{
			name: "full",
			err:  &FieldError{Field: "record.publisher.id", Got: `"JP-JCN-1234"`, Want: "a 13-digit corporate number with a valid check digit", Err: ErrFormat},
			want: `record.publisher.id: got "JP-JCN-1234", want a 13-digit corporate number with a valid check digit`,
		},
		{
			name: "no field",
			err:  &FieldError{Got: `"x"`, Want: "y"},
			want: `got "x", want y`,
		},
		{
			name: "wrapped error only",
			err:  &FieldError{Field: "a.b", Err: io.EOF},
			want: "a.b: EOF",
		},
		{
			name: "empty",
			err:  &FieldError{},
			want: "invalid value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAt(t *testing.T) {
	rel := &FieldError{Field: "start", Got: "g", Want: "w", Err: ErrOutOfRange}
	tests := []struct {
		name  string
		field string
		err   error
		want  string // "" for nil
		is    error
	}{
		{"nil", "x", nil, "", nil},
		{"relative path", "record.period", rel, "record.period.start: got g, want w", ErrOutOfRange},
		{"index path", "record.items", &FieldError{Field: "[3]", Got: "g", Want: "w", Err: ErrFormat}, "record.items[3]: got g, want w", ErrFormat},
		{"no relative path", "record.currency", &FieldError{Got: "g", Want: "w", Err: ErrUnknownCode}, "record.currency: got g, want w", ErrUnknownCode},
		{"empty prefix", "", rel, "start: got g, want w", ErrOutOfRange},
		{"plain error", "record.x", io.EOF, "record.x: EOF", io.EOF},
		{"list", "p", Errors{rel, &FieldError{Field: "end", Got: "g2", Want: "w2", Err: ErrFormat}}, "p.start: got g, want w; p.end: got g2, want w2", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := At(tt.field, tt.err)
			if tt.want == "" {
				if got != nil {
					t.Fatalf("At(%q, nil) = %v, want nil", tt.field, got)
				}
				return
			}
			if got == nil || got.Error() != tt.want {
				t.Fatalf("At(%q, err) = %v, want %q", tt.field, got, tt.want)
			}
			if !errors.Is(got, tt.is) {
				t.Errorf("errors.Is(At(%q, err), %v) = false, want true", tt.field, tt.is)
			}
		})
	}
	if rel.Field != "start" {
		t.Errorf("At modified its argument: Field = %q, want %q", rel.Field, "start")
	}
	if _, ok := At("x", Errors{rel}).(Errors); !ok {
		t.Errorf("At(x, Errors{...}) is %T, want Errors", At("x", Errors{rel}))
	}
	if _, ok := At("x", rel).(*FieldError); !ok {
		t.Errorf("At(x, *FieldError) is %T, want *FieldError", At("x", rel))
	}
}

func TestErrors(t *testing.T) {
	var errs Errors
	if err := errs.Err(); err != nil {
		t.Fatalf("empty Errors.Err() = %v, want nil", err)
	}
	errs.Add("a", nil)
	if len(errs) != 0 {
		t.Fatalf("Add(nil) appended: len = %d, want 0", len(errs))
	}
	errs.Add("record.publisher.id", newError(`"x"`, "y", ErrCheckDigit))
	errs.Add("record.period", Errors{
		{Field: "start", Got: "s", Want: "w", Err: ErrFormat},
		{Field: "end", Got: "e", Want: "w", Err: ErrOutOfRange},
	})
	errs.Add("record.z", io.ErrUnexpectedEOF)
	err := errs.Err()
	want := `record.publisher.id: got "x", want y; record.period.start: got s, want w; ` +
		`record.period.end: got e, want w; record.z: unexpected EOF`
	if err == nil || err.Error() != want {
		t.Fatalf("Errors.Error() = %v, want %q", err, want)
	}
	for _, sentinel := range []error{ErrCheckDigit, ErrFormat, ErrOutOfRange, io.ErrUnexpectedEOF} {
		if !errors.Is(err, sentinel) {
			t.Errorf("errors.Is(err, %v) = false, want true", sentinel)
		}
	}
	if errors.Is(err, ErrUnknownCode) {
		t.Errorf("errors.Is(err, ErrUnknownCode) = true, want false")
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "record.publisher.id" {
		t.Errorf("errors.As(err, *FieldError) = %v, want the first violation", fe)
	}
}

func TestQuote(t *testing.T) {
	long := strings.Repeat("a", 63) + "東京" // 63 + 6 bytes: cut inside 東
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"JP-JCN-1234", `"JP-JCN-1234"`},
		{"a\nb\xff", `"a\nb\xff"`},
		{strings.Repeat("x", 64), `"` + strings.Repeat("x", 64) + `"`},
		{strings.Repeat("x", 65), `"` + strings.Repeat("x", 64) + `"...`},
		{long, `"` + strings.Repeat("a", 63) + `"...`},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// isFieldError reports whether err is a location-less *FieldError wrapping
// one of the given sentinels.
func isFieldError(err error, sentinels ...error) bool {
	fe, ok := err.(*FieldError)
	if !ok || fe.Field != "" {
		return false
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
