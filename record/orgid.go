// SPDX-License-Identifier: Apache-2.0

package record

import (
	"unicode"
	"unicode/utf8"
)

// Organisation identifiers (org-id).
//
// An org-id is "{SCHEME}-{id}". SCHEME is a registration-agency prefix in
// the org-id.guide style: two uppercase ASCII letters (an ISO 3166-1
// alpha-2 country, or XI/XM for international/multilateral lists), "-",
// and 2..5 uppercase ASCII letters or digits, for example "JP-JCN",
// "GB-COH", "XI-LEI". Because SCHEME contains exactly one "-", the split is
// unambiguous even when id itself contains "-".
//
// id is 1..100 characters of valid UTF-8 with no white space, control
// characters or Unicode format characters (category Cf: zero-width and
// bidirectional controls, which would make visually identical identifiers
// compare different). For [SchemeJPJCN] the id must also be a valid
// corporate number ([ValidateCorporateNumber]).

// SchemeJPJCN is the org-id scheme of Japanese corporate numbers (法人番号).
const SchemeJPJCN = "JP-JCN"

const (
	orgIDMaxIDRunes = 100
	orgSchemeMinLen = 5 // "XX-" + 2
	orgSchemeMaxLen = 8 // "XX-" + 5
)

const (
	wantOrgID       = `an org-id "{SCHEME}-{id}" such as "JP-JCN-8000020130001"`
	wantOrgIDScheme = `an org-id scheme: 2 uppercase letters, "-", 2-5 uppercase letters or digits, such as "JP-JCN"`
	wantOrgIDID     = "an org-id id of 1-100 characters without white space, control or format characters"
)

// OrgID is a parsed organisation identifier. The zero value is not valid.
type OrgID struct {
	// Scheme is the registration-agency prefix, e.g. "JP-JCN".
	Scheme string
	// ID is the identifier within the scheme, e.g. "8000020130001".
	ID string
}

// ParseOrgID parses and validates an org-id such as
// "JP-JCN-8000020130001". For a valid s, ParseOrgID(s).String() == s.
// The error wraps [ErrFormat], [ErrOutOfRange] (id too long) or, for
// JP-JCN, [ErrCheckDigit]; its Got is the whole quoted input, e.g.
//
//	got "JP-JCN-1234", want a 13-digit corporate number with a valid check digit
func ParseOrgID(s string) (OrgID, error) {
	scheme, id, ok := splitOrgID(s)
	if !ok {
		return OrgID{}, newError(quote(s), wantOrgID, ErrFormat)
	}
	o := OrgID{Scheme: scheme, ID: id}
	if want, err := checkOrgIDID(o); err != nil {
		return OrgID{}, newError(quote(s), want, err)
	}
	return o, nil
}

// NewOrgID returns the OrgID with the given scheme and id after checking
// both as [ParseOrgID] does.
func NewOrgID(scheme, id string) (OrgID, error) {
	o := OrgID{Scheme: scheme, ID: id}
	if err := o.Validate(); err != nil {
		return OrgID{}, err
	}
	return o, nil
}

// OrgIDForCorporateNumber returns the JP-JCN org-id of a corporate number,
// e.g. "JP-JCN-8000020130001" for "8000020130001".
func OrgIDForCorporateNumber(corporateNumber string) (OrgID, error) {
	return NewOrgID(SchemeJPJCN, corporateNumber)
}

// Validate reports whether o is a valid org-id, with the same rules and
// errors as [ParseOrgID].
func (o OrgID) Validate() error {
	if !validOrgScheme(o.Scheme) {
		return newError(quote(o.Scheme), wantOrgIDScheme, ErrFormat)
	}
	if want, err := checkOrgIDID(o); err != nil {
		return newError(quote(o.String()), want, err)
	}
	return nil
}

// String returns "{Scheme}-{ID}".
func (o OrgID) String() string { return o.Scheme + "-" + o.ID }

// Country returns the first two letters of the scheme: an ISO 3166-1
// alpha-2 country code, or "XI"/"XM" for international schemes.
func (o OrgID) Country() string {
	if len(o.Scheme) < 2 {
		return ""
	}
	return o.Scheme[:2]
}

// CorporateNumber returns the corporate number of a JP-JCN org-id and
// whether o is one.
func (o OrgID) CorporateNumber() (string, bool) {
	if o.Scheme != SchemeJPJCN {
		return "", false
	}
	return o.ID, true
}

// splitOrgID splits s into scheme and id at the second "-", checking the
// scheme syntax. id is not checked.
func splitOrgID(s string) (scheme, id string, ok bool) {
	end := 3
	for end < len(s) && end < orgSchemeMaxLen && isUpperOrDigit(s[end]) {
		end++
	}
	if end >= len(s) || s[end] != '-' || !validOrgScheme(s[:end]) {
		return "", "", false
	}
	return s[:end], s[end+1:], true
}

// validOrgScheme reports whether s is [A-Z]{2}-[A-Z0-9]{2,5}.
func validOrgScheme(s string) bool {
	if len(s) < orgSchemeMinLen || len(s) > orgSchemeMaxLen {
		return false
	}
	if !isUpper(s[0]) || !isUpper(s[1]) || s[2] != '-' {
		return false
	}
	for i := 3; i < len(s); i++ {
		if !isUpperOrDigit(s[i]) {
			return false
		}
	}
	return true
}

// checkOrgIDID checks o.ID (o.Scheme is already valid) and returns the
// Want text and sentinel of the first violation.
func checkOrgIDID(o OrgID) (want string, err error) {
	if o.ID == "" || !utf8.ValidString(o.ID) {
		return wantOrgIDID, ErrFormat
	}
	n := 0
	for _, r := range o.ID {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return wantOrgIDID, ErrFormat
		}
		n++
	}
	if n > orgIDMaxIDRunes {
		return wantOrgIDID, ErrOutOfRange
	}
	if o.Scheme == SchemeJPJCN {
		if err := checkCorporateNumber(o.ID); err != nil {
			return wantCorporateNumber, err
		}
	}
	return "", nil
}

func isUpper(c byte) bool        { return 'A' <= c && c <= 'Z' }
func isUpperOrDigit(c byte) bool { return isUpper(c) || ('0' <= c && c <= '9') }
