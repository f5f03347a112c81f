// SPDX-License-Identifier: Apache-2.0

package record

import (
	"cmp"
	"fmt"
	"time"
)

// Dates and periods.
//
// A date is a proleptic Gregorian calendar date written YYYY-MM-DD with
// exactly four year digits (0001..9999), two month digits and two day
// digits, as in ISO 8601 / RFC 3339 full-date. Dates carry no time zone;
// the date of an instant in Japan is [DateInJapan]. A period is an
// inclusive range of dates with Start <= End.
//
// The Japanese fiscal year (年度) N runs from N-04-01 to (N+1)-03-31;
// fiscal quarters are April–June (1) through January–March (4).

const (
	minYear = 1
	maxYear = 9999
)

const (
	wantDate        = "a calendar date YYYY-MM-DD"
	wantPeriodOrder = "start on or before end"
)

// Date is a calendar date. The zero value is not a valid date; use
// [ParseDate] or [NewDate] to obtain valid ones.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date year-month-day, or an error wrapping
// [ErrOutOfRange] if it is not a real date in years 1..9999 (the day must
// exist in that month; 29 February only in leap years).
func NewDate(year int, month time.Month, day int) (Date, error) {
	d := Date{Year: year, Month: month, Day: day}
	if !d.IsValid() {
		return Date{}, newError(d.String(), wantDate, ErrOutOfRange)
	}
	return d, nil
}

// ParseDate parses a date in the form YYYY-MM-DD. It accepts nothing
// else: no time, zone, sign, surrounding space or non-ASCII digits. For a
// valid s, ParseDate(s).String() == s. The error wraps [ErrFormat] for bad
// syntax or [ErrOutOfRange] for a date that does not exist, such as
// "2021-02-29" or "0000-01-01".
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' ||
		!isDigits(s[0:4], 4) || !isDigits(s[5:7], 2) || !isDigits(s[8:10], 2) {
		return Date{}, newError(quote(s), wantDate, ErrFormat)
	}
	d := Date{
		Year:  atoi(s[0:4]),
		Month: time.Month(atoi(s[5:7])),
		Day:   atoi(s[8:10]),
	}
	if !d.IsValid() {
		return Date{}, newError(quote(s), wantDate, ErrOutOfRange)
	}
	return d, nil
}

// atoi converts a string of ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// jst is Japan Standard Time, UTC+9. Japan has not observed daylight
// saving time since 1951, so a fixed zone is exact for current dates and
// needs no time zone database.
var jst = time.FixedZone("JST", 9*60*60)

// DateInJapan returns the date of t in Japan (UTC+9), the date that
// Japanese government records use.
func DateInJapan(t time.Time) Date { return DateOf(t.In(jst)) }

// IsLeapYear reports whether year is a Gregorian leap year.
func IsLeapYear(year int) bool {
	return year%4 == 0 && (year%100 != 0 || year%400 == 0)
}

// DaysIn returns the number of days in the month, or 0 if month is not
// 1..12.
func DaysIn(year int, month time.Month) int {
	switch month {
	case time.January, time.March, time.May, time.July, time.August, time.October, time.December:
		return 31
	case time.April, time.June, time.September, time.November:
		return 30
	case time.February:
		if IsLeapYear(year) {
			return 29
		}
		return 28
	}
	return 0
}

// IsValid reports whether d is a real date in years 1..9999.
func (d Date) IsValid() bool {
	return d.Year >= minYear && d.Year <= maxYear &&
		d.Day >= 1 && d.Day <= DaysIn(d.Year, d.Month)
}

// String returns d as YYYY-MM-DD. For invalid dates the result is
// unspecified but never panics.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmp.Compare(d.Year, e.Year)
	case d.Month != e.Month:
		return cmp.Compare(int(d.Month), int(e.Month))
	default:
		return cmp.Compare(d.Day, e.Day)
	}
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// AddDays returns the date n days after d (before, if n is negative). d
// must be valid; the result is not valid if it falls outside years
// 1..9999.
func (d Date) AddDays(n int) Date {
	return dateFromDays(d.days() + n)
}

// DaysUntil returns the number of days from d to e: e.AddDays(-n) == d.
// Both dates must be valid.
func (d Date) DaysUntil(e Date) int { return e.days() - d.days() }

// days returns the number of days since 1970-01-01 (negative before it),
// using the proleptic Gregorian calendar. This and dateFromDays follow
// Howard Hinnant's days_from_civil / civil_from_days algorithms.
func (d Date) days() int {
	y, m := d.Year, int(d.Month)
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400                     // [0, 399]
	mp := (m + 9) % 12                     // March = 0
	doy := (153*mp+2)/5 + d.Day - 1        // [0, 365]
	doe := yoe*365 + yoe/4 - yoe/100 + doy // [0, 146096]
	return era*146097 + doe - 719468
}

func dateFromDays(z int) Date {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11]
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	if month > 12 {
		month -= 12
	}
	y := yoe + era*400
	if month <= 2 {
		y++
	}
	return Date{Year: y, Month: time.Month(month), Day: day}
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Time returns midnight at the start of d in loc.
func (d Date) Time(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// FiscalYear returns the Japanese fiscal year (年度) containing d: the
// calendar year for April..December, the previous year for
// January..March. 2021-03-31 is in FY2020, 2021-04-01 in FY2021.
func (d Date) FiscalYear() int {
	if d.Month >= time.April {
		return d.Year
	}
	return d.Year - 1
}

// Quarter returns the calendar quarter of d: 1 for January..March through
// 4 for October..December.
func (d Date) Quarter() int { return (int(d.Month)-1)/3 + 1 }

// FiscalQuarter returns the quarter of d within its Japanese fiscal year
// (四半期): 1 for April..June through 4 for January..March.
func (d Date) FiscalQuarter() int { return (int(d.Month)+8)%12/3 + 1 }

// Period is an inclusive range of dates. A valid period has valid Start
// and End with Start <= End; a one-day period has Start == End.
type Period struct {
	Start Date
	End   Date
}

// NewPeriod returns the period start..end, checking it as
// [Period.Validate] does.
func NewPeriod(start, end Date) (Period, error) {
	p := Period{Start: start, End: end}
	if err := p.Validate(); err != nil {
		return Period{}, err
	}
	return p, nil
}

// ParsePeriod parses the start and end dates of a period, given as
// separate YYYY-MM-DD strings (as they appear in records), and checks
// start <= end. All violations are reported together as [Errors] with
// relative fields "start" and "end" for unparsable dates and no field for
// a reversed period, so that At("record.period", err) yields messages such
// as
//
//	record.period.end: got "2021-02-30", want a calendar date YYYY-MM-DD
//	record.period: got start 2021-04-01 and end 2021-03-31, want start on or before end
func ParsePeriod(start, end string) (Period, error) {
	var errs Errors
	s, err := ParseDate(start)
	errs.Add("start", err)
	e, err := ParseDate(end)
	errs.Add("end", err)
	if len(errs) > 0 {
		return Period{}, errs
	}
	return NewPeriod(s, e)
}

// Validate reports whether p is a valid period. An invalid Start or End
// is reported with relative field "start" or "end" ([ErrOutOfRange]), and
// Start after End with [ErrPeriodOrder].
func (p Period) Validate() error {
	var errs Errors
	if !p.Start.IsValid() {
		errs.Add("start", newError(p.Start.String(), wantDate, ErrOutOfRange))
	}
	if !p.End.IsValid() {
		errs.Add("end", newError(p.End.String(), wantDate, ErrOutOfRange))
	}
	if len(errs) > 0 {
		return errs
	}
	if p.Start.After(p.End) {
		return newError("start "+p.Start.String()+" and end "+p.End.String(), wantPeriodOrder, ErrPeriodOrder)
	}
	return nil
}

// String returns p in ISO 8601 interval notation, "YYYY-MM-DD/YYYY-MM-DD".
func (p Period) String() string { return p.Start.String() + "/" + p.End.String() }

// Contains reports whether d is within p, ends included.
func (p Period) Contains(d Date) bool {
	return !d.Before(p.Start) && !d.After(p.End)
}

// Days returns the number of days in a valid period, ends included: 1 for
// a one-day period, 365 or 366 for a fiscal year.
func (p Period) Days() int { return p.Start.DaysUntil(p.End) + 1 }

// FiscalYearPeriod returns the period of Japanese fiscal year fy,
// fy-04-01..(fy+1)-03-31, for fy in 1..9998 ([ErrOutOfRange] otherwise).
func FiscalYearPeriod(fy int) (Period, error) {
	if fy < minYear || fy >= maxYear {
		return Period{}, newError(fmt.Sprint(fy), "a fiscal year in 1..9998", ErrOutOfRange)
	}
	return Period{
		Start: Date{Year: fy, Month: time.April, Day: 1},
		End:   Date{Year: fy + 1, Month: time.March, Day: 31},
	}, nil
}

// QuarterPeriod returns the period of calendar quarter q (1..4) of year,
// e.g. 2024-01-01..2024-03-31 for quarter 1 of 2024.
func QuarterPeriod(year, q int) (Period, error) {
	if year < minYear || year > maxYear || q < 1 || q > 4 {
		return Period{}, newError(fmt.Sprintf("year %d quarter %d", year, q), "a year in 1..9999 and a quarter in 1..4", ErrOutOfRange)
	}
	first := time.Month(3*q - 2)
	last := first + 2
	return Period{
		Start: Date{Year: year, Month: first, Day: 1},
		End:   Date{Year: year, Month: last, Day: DaysIn(year, last)},
	}, nil
}

// FiscalQuarterPeriod returns the period of quarter q (1..4) of Japanese
// fiscal year fy: quarter 1 of FY2020 is 2020-04-01..2020-06-30, quarter 4
// is 2021-01-01..2021-03-31.
func FiscalQuarterPeriod(fy, q int) (Period, error) {
	if fy < minYear || fy >= maxYear || q < 1 || q > 4 {
		return Period{}, newError(fmt.Sprintf("fiscal year %d quarter %d", fy, q), "a fiscal year in 1..9998 and a quarter in 1..4", ErrOutOfRange)
	}
	if q == 4 {
		return QuarterPeriod(fy+1, 1)
	}
	return QuarterPeriod(fy, q+1)
}
