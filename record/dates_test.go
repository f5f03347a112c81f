// SPDX-License-Identifier: Apache-2.0

package record

import (
	"errors"
	"testing"
	"time"
)

func mustDate(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q) = %v", s, err)
	}
	return d
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want Date
	}{
		{"2020-04-01", Date{2020, time.April, 1}},
		{"2021-03-31", Date{2021, time.March, 31}},
		{"2024-02-29", Date{2024, time.February, 29}},
		{"2000-02-29", Date{2000, time.February, 29}},
		{"2023-02-28", Date{2023, time.February, 28}},
		{"0001-01-01", Date{1, time.January, 1}},
		{"9999-12-31", Date{9999, time.December, 31}},
		{"1989-01-08", Date{1989, time.January, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseDate(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("ParseDate(%q).String() = %q", tt.in, s)
			}
			if n, err := NewDate(tt.want.Year, tt.want.Month, tt.want.Day); err != nil || n != tt.want {
				t.Errorf("NewDate(%d, %d, %d) = %v, %v, want %v", tt.want.Year, tt.want.Month, tt.want.Day, n, err, tt.want)
			}
		})
	}
}

func TestParseDateErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"2021-02-29", ErrOutOfRange},
		{"1900-02-29", ErrOutOfRange},
		{"2100-02-29", ErrOutOfRange},
		{"2021-04-31", ErrOutOfRange},
		{"2021-13-01", ErrOutOfRange},
		{"2021-00-10", ErrOutOfRange},
		{"2021-01-00", ErrOutOfRange},
		{"2021-01-32", ErrOutOfRange},
		{"0000-01-01", ErrOutOfRange},
		{"2021-1-01", ErrFormat},
		{"20210101", ErrFormat},
		{"2021/01/01", ErrFormat},
		{" 2021-01-01", ErrFormat},
		{"2021-01-01 ", ErrFormat},
		{"2021-01-01T00:00:00Z", ErrFormat},
		{"+021-01-01", ErrFormat},
		{"-001-01-01", ErrFormat},
		{"２０２１-01-01", ErrFormat},
		{"R03-01-01", ErrFormat},
		{"", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if !isFieldError(err, tt.want) || got != (Date{}) {
				t.Errorf("ParseDate(%q) = %v, %v, want zero Date and *FieldError wrapping %v", tt.in, got, err, tt.want)
			}
		})
	}
	const want = `record.decided_on: got "2021-02-29", want a calendar date YYYY-MM-DD`
	_, err := ParseDate("2021-02-29")
	if got := At("record.decided_on", err); got == nil || got.Error() != want {
		t.Errorf("At(..., ParseDate(2021-02-29)) = %v, want %q", got, want)
	}
	if _, err := NewDate(2021, time.February, 29); !isFieldError(err, ErrOutOfRange) {
		t.Errorf("NewDate(2021, 2, 29) error = %v, want ErrOutOfRange", err)
	}
}

func TestDaysIn(t *testing.T) {
	tests := []struct {
		year  int
		month time.Month
		want  int
	}{
		{2021, time.January, 31}, {2021, time.February, 28}, {2024, time.February, 29},
		{1900, time.February, 28}, {2000, time.February, 29}, {2021, time.April, 30},
		{2021, time.December, 31}, {2021, 0, 0}, {2021, 13, 0},
	}
	for _, tt := range tests {
		if got := DaysIn(tt.year, tt.month); got != tt.want {
			t.Errorf("DaysIn(%d, %d) = %d, want %d", tt.year, tt.month, got, tt.want)
		}
	}
}

// TestDateAllDays walks every date from 0001-01-01 to 9999-12-31 with
// AddDays(1) and checks it against a naive successor and the time package.
func TestDateAllDays(t *testing.T) {
	if testing.Short() {
		t.Skip("walks 3.6 million dates")
	}
	d := Date{1, time.January, 1}
	last := Date{9999, time.December, 31}
	n := 0
	for d != last {
		next := d.AddDays(1)
		want := Date{d.Year, d.Month, d.Day + 1}
		if want.Day > DaysIn(d.Year, d.Month) {
			want = Date{d.Year, d.Month + 1, 1}
			if want.Month > time.December {
				want = Date{d.Year + 1, time.January, 1}
			}
		}
		if next != want || !next.IsValid() {
			t.Fatalf("%v.AddDays(1) = %v, want %v", d, next, want)
		}
		if back := next.AddDays(-1); back != d {
			t.Fatalf("%v.AddDays(-1) = %v, want %v", next, back, d)
		}
		d = next
		n++
	}
	// 9999 years of 365.2425 days, less one day.
	if want := 9999*365 + 9999/4 - 9999/100 + 9999/400 - 1; n != want {
		t.Errorf("walked %d days, want %d", n, want)
	}
	first := Date{1, time.January, 1}
	if got := first.DaysUntil(last); got != n {
		t.Errorf("%v.DaysUntil(%v) = %d, want %d", first, last, got, n)
	}
	if got := (Date{1970, time.January, 1}).days(); got != 0 {
		t.Errorf("1970-01-01 days() = %d, want 0", got)
	}
	for _, s := range []string{"0001-01-01", "1969-12-31", "2000-03-01", "9999-12-31"} {
		d := mustDate(t, s)
		want := int(d.Time(time.UTC).Unix() / 86400)
		if got := d.days(); got != want {
			t.Errorf("%s days() = %d, want %d", s, got, want)
		}
	}
}

func TestDateCompare(t *testing.T) {
	a, b := mustDate(t, "2021-03-31"), mustDate(t, "2021-04-01")
	if a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Errorf("Compare(%v, %v) inconsistent", a, b)
	}
	if !a.Before(b) || a.After(b) || !b.After(a) || b.Before(a) || a.Before(a) {
		t.Errorf("Before/After(%v, %v) inconsistent", a, b)
	}
	if c := mustDate(t, "2020-12-31"); !c.Before(a) {
		t.Errorf("%v.Before(%v) = false, want true", c, a)
	}
}

func TestDateInJapan(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2021, 3, 31, 14, 59, 59, 0, time.UTC), "2021-03-31"},
		{time.Date(2021, 3, 31, 15, 0, 0, 0, time.UTC), "2021-04-01"},
		{time.Date(2020, 12, 31, 23, 0, 0, 0, time.FixedZone("EST", -5*3600)), "2021-01-01"},
	}
	for _, tt := range tests {
		if got := DateInJapan(tt.t).String(); got != tt.want {
			t.Errorf("DateInJapan(%v) = %s, want %s", tt.t, got, tt.want)
		}
	}
	if got := DateOf(time.Date(2021, 3, 31, 15, 0, 0, 0, time.UTC)).String(); got != "2021-03-31" {
		t.Errorf("DateOf(2021-03-31T15:00Z) = %s, want 2021-03-31", got)
	}
	d := mustDate(t, "2024-02-29")
	if got := DateOf(d.Time(time.UTC)); got != d {
		t.Errorf("DateOf(%v.Time(UTC)) = %v, want %v", d, got, d)
	}
}

func TestFiscalYearAndQuarters(t *testing.T) {
	tests := []struct {
		date      string
		fy, q, fq int
	}{
		{"2020-04-01", 2020, 2, 1},
		{"2020-06-30", 2020, 2, 1},
		{"2020-07-01", 2020, 3, 2},
		{"2020-09-30", 2020, 3, 2},
		{"2020-10-01", 2020, 4, 3},
		{"2020-12-31", 2020, 4, 3},
		{"2021-01-01", 2020, 1, 4},
		{"2021-03-31", 2020, 1, 4},
		{"2021-04-01", 2021, 2, 1},
		{"2020-02-29", 2019, 1, 4},
	}
	for _, tt := range tests {
		d := mustDate(t, tt.date)
		if got := d.FiscalYear(); got != tt.fy {
			t.Errorf("%s.FiscalYear() = %d, want %d", tt.date, got, tt.fy)
		}
		if got := d.Quarter(); got != tt.q {
			t.Errorf("%s.Quarter() = %d, want %d", tt.date, got, tt.q)
		}
		if got := d.FiscalQuarter(); got != tt.fq {
			t.Errorf("%s.FiscalQuarter() = %d, want %d", tt.date, got, tt.fq)
		}
	}
}

func TestFiscalYearPeriod(t *testing.T) {
	tests := []struct {
		fy      int
		want    string
		days    int
		wantErr bool
	}{
		{2020, "2020-04-01/2021-03-31", 365, false},
		{2019, "2019-04-01/2020-03-31", 366, false},
		{2023, "2023-04-01/2024-03-31", 366, false},
		{1, "0001-04-01/0002-03-31", 365, false},
		{9998, "9998-04-01/9999-03-31", 365, false},
		{0, "", 0, true},
		{9999, "", 0, true},
	}
	for _, tt := range tests {
		p, err := FiscalYearPeriod(tt.fy)
		if tt.wantErr {
			if !isFieldError(err, ErrOutOfRange) {
				t.Errorf("FiscalYearPeriod(%d) = %v, %v, want ErrOutOfRange", tt.fy, p, err)
			}
			continue
		}
		if err != nil || p.String() != tt.want || p.Days() != tt.days || p.Validate() != nil {
			t.Errorf("FiscalYearPeriod(%d) = %v (%d days), %v, want %s (%d days)", tt.fy, p, p.Days(), err, tt.want, tt.days)
		}
	}
	// Every day of FY2020 and its neighbours is classified consistently.
	p, _ := FiscalYearPeriod(2020)
	for d := p.Start.AddDays(-3); !d.After(p.End.AddDays(3)); d = d.AddDays(1) {
		if in := d.FiscalYear() == 2020; in != p.Contains(d) {
			t.Errorf("%v: FiscalYear() = %d but FY2020 Contains = %t", d, d.FiscalYear(), p.Contains(d))
		}
		if !p.Contains(d) {
			continue
		}
		fqp, err := FiscalQuarterPeriod(2020, d.FiscalQuarter())
		if err != nil || !fqp.Contains(d) {
			t.Errorf("%v: FiscalQuarterPeriod(2020, %d) = %v, %v, does not contain it", d, d.FiscalQuarter(), fqp, err)
		}
		qp, err := QuarterPeriod(d.Year, d.Quarter())
		if err != nil || !qp.Contains(d) {
			t.Errorf("%v: QuarterPeriod(%d, %d) = %v, %v, does not contain it", d, d.Year, d.Quarter(), qp, err)
		}
	}
}

func TestQuarterPeriods(t *testing.T) {
	tests := []struct {
		name string
		f    func(int, int) (Period, error)
		y, q int
		want string
		days int
	}{
		{"Quarter", QuarterPeriod, 2024, 1, "2024-01-01/2024-03-31", 91},
		{"Quarter", QuarterPeriod, 2023, 1, "2023-01-01/2023-03-31", 90},
		{"Quarter", QuarterPeriod, 2023, 2, "2023-04-01/2023-06-30", 91},
		{"Quarter", QuarterPeriod, 2023, 3, "2023-07-01/2023-09-30", 92},
		{"Quarter", QuarterPeriod, 2023, 4, "2023-10-01/2023-12-31", 92},
		{"FiscalQuarter", FiscalQuarterPeriod, 2020, 1, "2020-04-01/2020-06-30", 91},
		{"FiscalQuarter", FiscalQuarterPeriod, 2020, 2, "2020-07-01/2020-09-30", 92},
		{"FiscalQuarter", FiscalQuarterPeriod, 2020, 3, "2020-10-01/2020-12-31", 92},
		{"FiscalQuarter", FiscalQuarterPeriod, 2020, 4, "2021-01-01/2021-03-31", 90},
	}
	for _, tt := range tests {
		p, err := tt.f(tt.y, tt.q)
		if err != nil || p.String() != tt.want || p.Days() != tt.days {
			t.Errorf("%sPeriod(%d, %d) = %v (%d days), %v, want %s (%d days)", tt.name, tt.y, tt.q, p, p.Days(), err, tt.want, tt.days)
		}
	}
	for _, bad := range [][2]int{{2020, 0}, {2020, 5}, {0, 1}, {10000, 1}} {
		if p, err := QuarterPeriod(bad[0], bad[1]); !isFieldError(err, ErrOutOfRange) {
			t.Errorf("QuarterPeriod(%d, %d) = %v, %v, want ErrOutOfRange", bad[0], bad[1], p, err)
		}
		if p, err := FiscalQuarterPeriod(bad[0], bad[1]); !isFieldError(err, ErrOutOfRange) {
			t.Errorf("FiscalQuarterPeriod(%d, %d) = %v, %v, want ErrOutOfRange", bad[0], bad[1], p, err)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	p, err := ParsePeriod("2020-04-01", "2021-03-31")
	if err != nil || p.Start != mustDate(t, "2020-04-01") || p.End != mustDate(t, "2021-03-31") {
		t.Fatalf("ParsePeriod(2020-04-01, 2021-03-31) = %v, %v", p, err)
	}
	if p, err := ParsePeriod("2021-04-01", "2021-04-01"); err != nil || p.Days() != 1 {
		t.Errorf("ParsePeriod(one day) = %v (%d days), %v, want 1 day", p, p.Days(), err)
	}
	tests := []struct {
		start, end string
		want       string
		is         []error
	}{
		{
			"2021-04-01", "2021-03-31",
			"record.period: got start 2021-04-01 and end 2021-03-31, want start on or before end",
			[]error{ErrPeriodOrder},
		},
		{
			"2021-04-01", "2021-02-30",
			`record.period.end: got "2021-02-30", want a calendar date YYYY-MM-DD`,
			[]error{ErrOutOfRange},
		},
		{
			"2021/04/01", "",
			`record.period.start: got "2021/04/01", want a calendar date YYYY-MM-DD; ` +
				`record.period.end: got "", want a calendar date YYYY-MM-DD`,
			[]error{ErrFormat},
		},
	}
	for _, tt := range tests {
		p, err := ParsePeriod(tt.start, tt.end)
		if p != (Period{}) {
			t.Errorf("ParsePeriod(%q, %q) = %v on error, want zero", tt.start, tt.end, p)
		}
		got := At("record.period", err)
		if got == nil || got.Error() != tt.want {
			t.Errorf("At(record.period, ParsePeriod(%q, %q)) = %v, want %q", tt.start, tt.end, got, tt.want)
		}
		for _, s := range tt.is {
			if !errors.Is(err, s) {
				t.Errorf("ParsePeriod(%q, %q) = %v, want errors.Is %v", tt.start, tt.end, err, s)
			}
		}
	}
}

func TestPeriodValidate(t *testing.T) {
	var errs Errors
	errs.Add("p", Period{Start: Date{2021, 2, 29}, End: Date{}}.Validate())
	const want = "p.start: got 2021-02-29, want a calendar date YYYY-MM-DD; p.end: got 0000-00-00, want a calendar date YYYY-MM-DD"
	if errs.Error() != want {
		t.Errorf("Validate() = %v, want %q", errs, want)
	}
	if _, err := NewPeriod(mustDate(t, "2021-04-02"), mustDate(t, "2021-04-01")); !isFieldError(err, ErrPeriodOrder) {
		t.Errorf("NewPeriod(reversed) error = %v, want ErrPeriodOrder", err)
	}
}

func TestPeriodContains(t *testing.T) {
	p, _ := ParsePeriod("2020-04-01", "2020-04-30")
	tests := []struct {
		d    string
		want bool
	}{
		{"2020-03-31", false}, {"2020-04-01", true}, {"2020-04-15", true}, {"2020-04-30", true}, {"2020-05-01", false},
	}
	for _, tt := range tests {
		if got := p.Contains(mustDate(t, tt.d)); got != tt.want {
			t.Errorf("%v.Contains(%s) = %t, want %t", p, tt.d, got, tt.want)
		}
	}
	if p.Days() != 30 {
		t.Errorf("%v.Days() = %d, want 30", p, p.Days())
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"2020-04-01", "2024-02-29", "2021-02-29", "0000-01-01", "9999-12-31", "+021-01-01",
		"2021-1-01", "２０２１-01-01", "", "2021-01-01T00:00:00Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		tp, terr := time.Parse(time.DateOnly, s)
		if err != nil {
			if !isFieldError(err, ErrFormat, ErrOutOfRange) {
				t.Fatalf("ParseDate(%q) error = %#v, want *FieldError with a sentinel", s, err)
			}
			// time.Parse accepts signs and year 0; otherwise it must agree.
			strict := len(s) == 10 && isDigits(s[:4], 4) && isDigits(s[5:7], 2) && isDigits(s[8:], 2)
			if terr == nil && strict && tp.Year() != 0 {
				t.Fatalf("ParseDate(%q) = %v, but time.Parse accepts it", s, err)
			}
			return
		}
		if terr != nil || DateOf(tp) != d {
			t.Fatalf("ParseDate(%q) = %v, time.Parse = %v, %v", s, d, tp, terr)
		}
		if d.String() != s || !d.IsValid() {
			t.Fatalf("ParseDate(%q) = %v: String() = %q, IsValid() = %t", s, d, d.String(), d.IsValid())
		}
		if n, err := NewDate(d.Year, d.Month, d.Day); err != nil || n != d {
			t.Fatalf("NewDate(%v) = %v, %v", d, n, err)
		}
		fy, err := FiscalYearPeriod(d.FiscalYear())
		if err == nil && !fy.Contains(d) {
			t.Fatalf("FiscalYearPeriod(%d) = %v does not contain %v", d.FiscalYear(), fy, d)
		}
		if q, err := QuarterPeriod(d.Year, d.Quarter()); err != nil || !q.Contains(d) {
			t.Fatalf("QuarterPeriod(%d, %d) = %v, %v does not contain %v", d.Year, d.Quarter(), q, err, d)
		}
	})
}

// FuzzDateArithmetic checks day arithmetic against the time package.
func FuzzDateArithmetic(f *testing.F) {
	f.Add(int32(0), int32(1))
	f.Add(int32(-719162), int32(365))
	f.Add(int32(2932896), int32(-1))
	f.Add(int32(18352), int32(-18352))
	f.Fuzz(func(t *testing.T, z, n int32) {
		d := dateFromDays(int(z))
		want := DateOf(time.Date(1970, time.January, 1+int(z), 0, 0, 0, 0, time.UTC))
		if d != want {
			t.Fatalf("dateFromDays(%d) = %v, time package says %v", z, d, want)
		}
		if got := d.days(); got != int(z) {
			t.Fatalf("dateFromDays(%d).days() = %d", z, got)
		}
		e := d.AddDays(int(n))
		if got := d.DaysUntil(e); got != int(n) {
			t.Fatalf("%v.DaysUntil(%v.AddDays(%d)) = %d", d, d, n, got)
		}
		if c := d.Compare(e); c != cmpSign(int(n)) {
			t.Fatalf("%v.Compare(%v) = %d, want sign of %d", d, e, c, n)
		}
	})
}

func cmpSign(n int) int {
	switch {
	case n < 0:
		return 1
	case n > 0:
		return -1
	}
	return 0
}

func FuzzParsePeriod(f *testing.F) {
	f.Add("2020-04-01", "2021-03-31")
	f.Add("2021-04-01", "2021-03-31")
	f.Add("2021-04-01", "2021-04-01")
	f.Add("x", "2021-02-30")
	f.Fuzz(func(t *testing.T, start, end string) {
		p, err := ParsePeriod(start, end)
		if err != nil {
			var ok bool
			switch e := err.(type) {
			case Errors:
				ok = len(e) >= 1 && len(e) <= 2
			case *FieldError:
				ok = errors.Is(e, ErrPeriodOrder)
			}
			if !ok {
				t.Fatalf("ParsePeriod(%q, %q) error = %#v, want Errors or ErrPeriodOrder", start, end, err)
			}
			return
		}
		if p.Validate() != nil || p.Start.String() != start || p.End.String() != end {
			t.Fatalf("ParsePeriod(%q, %q) = %v, invalid or not round-tripping", start, end, p)
		}
		if p.Days() < 1 || !p.Contains(p.Start) || !p.Contains(p.End) ||
			p.Contains(p.Start.AddDays(-1)) || p.Contains(p.End.AddDays(1)) {
			t.Fatalf("ParsePeriod(%q, %q) = %v: Days = %d, inconsistent Contains", start, end, p, p.Days())
		}
	})
}
