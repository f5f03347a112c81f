// SPDX-License-Identifier: Apache-2.0

package record_test

import (
	"errors"
	"fmt"

	"github.com/akashi-ledger/akashi/record"
)

// A validator collects violations with their field paths.
func ExampleErrors() {
	var errs record.Errors
	if _, err := record.ParseOrgID("JP-JCN-1234"); err != nil {
		errs.Add("record.publisher.id", err)
	}
	if _, err := record.ParsePeriod("2021-04-01", "2021-02-30"); err != nil {
		errs.Add("record.period", err)
	}
	if _, err := record.CurrencyExponent("XAU"); err != nil {
		errs.Add("record.amount.currency", err)
	}
	err := errs.Err()
	for _, e := range errs {
		fmt.Println(e)
	}
	fmt.Println(errors.Is(err, record.ErrNoMinorUnit))
	// Output:
	// record.publisher.id: got "JP-JCN-1234", want a 13-digit corporate number with a valid check digit
	// record.period.end: got "2021-02-30", want a calendar date YYYY-MM-DD
	// record.amount.currency: got "XAU", want an ISO 4217 currency code with a minor unit, such as "JPY"
	// true
}

func ExampleLocalGovernmentCorporateNumber() {
	cn, _ := record.LocalGovernmentCorporateNumber("130001")
	code, _ := record.LocalGovernmentCodeFromCorporateNumber(cn)
	p, _ := record.PrefectureOf(code)
	fmt.Println(cn, code, p.NameEN, p.NameJA)
	// Output: 8000020130001 130001 Tokyo 東京都
}

func ExampleDate_FiscalYear() {
	for _, s := range []string{"2021-03-31", "2021-04-01"} {
		d, _ := record.ParseDate(s)
		fy, _ := record.FiscalYearPeriod(d.FiscalYear())
		fmt.Println(d, d.FiscalYear(), fy)
	}
	// Output:
	// 2021-03-31 2020 2020-04-01/2021-03-31
	// 2021-04-01 2021 2021-04-01/2022-03-31
}

func ExampleCommit() {
	canonical, err := record.CanonicalPersonalData(map[string]string{
		"name":       "山田太郎",
		"birth_date": "1980-01-02",
	})
	if err != nil {
		panic(err)
	}
	salt := record.NewSalt() // kept secret by the agency, never published
	commitment := record.Commit(salt, canonical)
	fmt.Println(record.VerifyCommitment(salt, canonical, commitment))
	// Output: true
}
