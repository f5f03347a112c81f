// SPDX-License-Identifier: Apache-2.0

package record

import "strconv"

// Corporate numbers (法人番号).
//
// A corporate number is 13 ASCII digits. The first digit is a check digit
// over the remaining 12 (the base). Numbering the base digits P1..P12 from
// the right (P1 is the last digit) with weights Qn = 1 for odd n and 2 for
// even n, the check digit is 9 − (Σ Pn·Qn mod 9), so it is always 1..9.
//
// A local government's corporate number is the check digit, "000020" and
// its 6-digit local government code; the "0000" prefix is not a registry
// office code, so no other corporation's number has this form.

const (
	corpNumberLen = 13
	corpBaseLen   = 12
	// lgCorpInfix is the fixed part of a local government's corporate
	// number between the check digit and the local government code.
	lgCorpInfix = "000020"
)

const (
	wantCorporateNumber   = "a 13-digit corporate number with a valid check digit"
	wantCorporateBase     = "a 12-digit corporate number base"
	wantLGCorporateNumber = `a local government corporate number (check digit + "000020" + 6-digit local government code)`
)

// CorporateNumberCheckDigit returns the check digit (1..9) of a corporate
// number whose 12-digit base is base. base must be exactly 12 ASCII digits.
func CorporateNumberCheckDigit(base string) (int, error) {
	if !isDigits(base, corpBaseLen) {
		return 0, newError(quote(base), wantCorporateBase, ErrFormat)
	}
	return corpCheckDigit(base), nil
}

// corpCheckDigit computes the check digit of a base already known to be 12
// ASCII digits.
func corpCheckDigit(base string) int {
	sum := 0
	for n := 1; n <= corpBaseLen; n++ {
		p := int(base[corpBaseLen-n] - '0')
		if n%2 == 0 {
			p *= 2
		}
		sum += p
	}
	return 9 - sum%9
}

// CorporateNumberFromBase returns the 13-digit corporate number with the
// 12-digit base, that is the check digit followed by base.
func CorporateNumberFromBase(base string) (string, error) {
	c, err := CorporateNumberCheckDigit(base)
	if err != nil {
		return "", err
	}
	return strconv.Itoa(c) + base, nil
}

// ValidateCorporateNumber reports whether s is a corporate number: exactly
// 13 ASCII digits (no hyphens, spaces or full-width digits) whose first
// digit is the check digit of the other 12. The error wraps [ErrFormat] or
// [ErrCheckDigit].
func ValidateCorporateNumber(s string) error {
	if err := checkCorporateNumber(s); err != nil {
		return newError(quote(s), wantCorporateNumber, err)
	}
	return nil
}

// checkCorporateNumber is ValidateCorporateNumber returning a bare sentinel.
func checkCorporateNumber(s string) error {
	if !isDigits(s, corpNumberLen) {
		return ErrFormat
	}
	if int(s[0]-'0') != corpCheckDigit(s[1:]) {
		return ErrCheckDigit
	}
	return nil
}

// LocalGovernmentCorporateNumber returns the corporate number of the local
// government with the 6-digit local government code lgCode, for example
// "8000020130001" for Tokyo ("130001"). lgCode must pass
// [ValidateLocalGovernmentCode].
func LocalGovernmentCorporateNumber(lgCode string) (string, error) {
	if err := ValidateLocalGovernmentCode(lgCode); err != nil {
		return "", err
	}
	base := lgCorpInfix + lgCode
	return strconv.Itoa(corpCheckDigit(base)) + base, nil
}

// LocalGovernmentCodeFromCorporateNumber returns the local government code
// embedded in a local government's corporate number, for example "130001"
// for "8000020130001". The error wraps [ErrFormat] or [ErrCheckDigit] if
// corporateNumber is not a valid corporate number, [ErrNotLocalGovernment]
// if it is not of the local government form, and the error of
// [ValidateLocalGovernmentCode] if the embedded code is invalid.
func LocalGovernmentCodeFromCorporateNumber(corporateNumber string) (string, error) {
	if err := ValidateCorporateNumber(corporateNumber); err != nil {
		return "", err
	}
	if corporateNumber[1:1+len(lgCorpInfix)] != lgCorpInfix {
		return "", newError(quote(corporateNumber), wantLGCorporateNumber, ErrNotLocalGovernment)
	}
	code := corporateNumber[1+len(lgCorpInfix):]
	if err := checkLocalGovernmentCode(code); err != nil {
		return "", newError(quote(corporateNumber), wantLGCorporateNumber, err)
	}
	return code, nil
}

// isDigits reports whether s is exactly n ASCII digits.
func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
