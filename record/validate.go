// SPDX-License-Identifier: Apache-2.0

package record

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// Schema validation.
//
// [ValidateRecord], [ValidateStatement], [ValidateSignedStatement] and
// [ValidateGovernance] check a message against the rules of the schema
// (proto/akashi/v1) and report every violation found, in field order, as
// an [Errors] list (nil when the message is valid). Field paths use the
// proto field names, rooted at "record", "statement", "signed_statement"
// or "governance", with list indexes: "record.legal_basis[2].law_id",
// "record.request.addressees[0].class.areas[1]". A missing oneof is
// reported at the oneof's name ("record.body", "record.disbursement.payee.kind").
//
// Sentinels: a missing required value, a malformed value or a value
// present where it is not allowed wraps [ErrFormat]; too long, too many
// or out of range wraps [ErrOutOfRange]; an enum number the schema does not
// define wraps [ErrUnknownCode]; a period or date pair in the wrong order
// wraps [ErrPeriodOrder]; identifiers checked by the helpers keep theirs
// ([ErrCheckDigit], [ErrNoMinorUnit], ...).
//
// Text: every string must be valid UTF-8. Lengths are counted in
// characters (runes). Identifiers, names, titles and other one-line values
// may contain no control characters; descriptions, rationales, conditions
// and reasons may contain newline and tab but no other control character.
// No string may contain Unicode bidirectional formatting characters
// (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) or the line and
// paragraph separators U+2028 and U+2029, which can make a published text
// display differently from what it says. Text is not Unicode-normalised.
//
// Messages never echo more than 64 bytes of a value and never echo a
// payee's commitment.

// Kind is the kind of a record's body.
type Kind int

// The kinds of record body.
const (
	KindDecision Kind = iota + 1
	KindRequest
	KindDisbursement
)

// String returns "decision", "request" or "disbursement".
func (k Kind) String() string {
	switch k {
	case KindDecision:
		return "decision"
	case KindRequest:
		return "request"
	case KindDisbursement:
		return "disbursement"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// KindOf returns the kind of r's body, and false if r is nil or has no body.
func KindOf(r *akashiv1.Record) (Kind, bool) {
	switch {
	case r.GetDecision() != nil:
		return KindDecision, true
	case r.GetRequest() != nil:
		return KindRequest, true
	case r.GetDisbursement() != nil:
		return KindDisbursement, true
	}
	return 0, false
}

// Limits, in characters for strings and in entries for lists.
const (
	limIDRunes          = 128
	limRationaleRunes   = 2000
	limNameRunes        = 200
	limTitleRunes       = 300
	limDescriptionRunes = 20000
	limArticleRunes     = 50
	limURLRunes         = 2048
	limLicenseRunes     = 64
	limConditionRunes   = 1000
	limExemptionRunes   = 200
	limClassDescRunes   = 300
	limLabelRunes       = 100
	limReasonRunes      = 500
	limLegalBasis       = 50
	limDocuments        = 100
	limRelated          = 100
	limAreas            = 2000
	limAddressees       = 1000
	limConditions       = 100
	limExemptions       = 50
	limFacilityCount    = 100000
	minRecordedAtYear   = 1900
)

const (
	wantValidateID          = "1-128 characters from [A-Za-z0-9._:-]"
	wantValidateLawID       = `an e-Gov law id: 3 digits, 2 uppercase letters and 10 digits, such as "424AC0000000031"`
	wantValidateURL         = "an absolute https or http URL with a host and no user information"
	wantValidateSHA256      = "a SHA-256 digest as 64 lowercase hex digits"
	wantValidateLicense     = `an SPDX licence identifier of 1-64 characters from [A-Za-z0-9.+-], such as "CC-BY-4.0"`
	wantValidateJSIC        = `a JSIC industry code: a division letter A-T or 2-4 digits, such as "76"`
	wantValidateRecordedAt  = `an RFC 3339 date and time with a time zone offset, such as "2020-04-07T19:00:00+09:00"`
	wantValidateOrg         = `an organisation with an org-id such as "JP-JCN-8000020130001"`
	wantValidateRef         = "a record reference with an id"
	wantValidatePublicKey   = "a 32-byte Ed25519 public key"
	wantValidateLineChars   = "no control or bidirectional formatting characters"
	wantValidateTextChars   = "no control or bidirectional formatting characters other than newline and tab"
	wantValidateUTF8        = "valid UTF-8"
	wantValidateUnspecified = "exactly one of "
)

// ValidateRecord checks r against the schema's rules and returns an
// [Errors] list of every violation, with paths rooted at "record", or nil
// if r is valid.
func ValidateRecord(r *akashiv1.Record) error {
	var v validation
	v.record("record", r)
	return v.errs.Err()
}

// ValidateStatement checks st: "statement.sequence" is at least 1,
// "statement.previous" is empty for sequence 1 and 32 bytes otherwise, and
// it has exactly one body, which is checked by [ValidateRecord] (paths
// rooted at "record") or [ValidateGovernance] (paths rooted at
// "governance"). It returns an [Errors] list or nil.
func ValidateStatement(st *akashiv1.Statement) error {
	var v validation
	if st == nil {
		v.add("statement", "nil", "a statement", ErrFormat)
		return v.errs.Err()
	}
	seq := st.GetSequence()
	switch prev := len(st.GetPrevious()); {
	case seq == 0:
		v.add("statement.sequence", "0", ">= 1", ErrOutOfRange)
	case seq == 1 && prev != 0:
		v.add("statement.previous", fmt.Sprintf("%d bytes", prev), "empty for sequence 1", ErrFormat)
	case seq > 1 && prev != sha256.Size:
		v.add("statement.previous", fmt.Sprintf("%d bytes", prev), "the 32-byte SHA-256 of the signer's previous statement", ErrFormat)
	}
	switch {
	case st.GetRecord() != nil:
		v.record("record", st.GetRecord())
	case st.GetGovernance() != nil:
		v.governance("governance", st.GetGovernance())
	default:
		v.add("statement.body", "nothing", wantValidateUnspecified+"record, governance", ErrFormat)
	}
	return v.errs.Err()
}

// ValidateSignedStatement checks the envelope ss without decoding its
// statement or verifying its signature: the statement is 1 to
// [MaxStatementSize] bytes, the key id has the form checked by
// [ValidateKeyID] and the signature is 64 bytes. It returns an [Errors]
// list, with paths rooted at "signed_statement", or nil.
func ValidateSignedStatement(ss *akashiv1.SignedStatement) error {
	var v validation
	if ss == nil {
		v.add("signed_statement", "nil", "a signed statement", ErrFormat)
		return v.errs.Err()
	}
	switch n := len(ss.GetStatement()); {
	case n == 0:
		v.add("signed_statement.statement", "0 bytes", "a serialized statement", ErrFormat)
	case n > MaxStatementSize:
		v.add("signed_statement.statement", strconv.Itoa(n)+" bytes", "at most "+strconv.Itoa(MaxStatementSize)+" bytes", ErrOutOfRange)
	}
	v.errs.Add("signed_statement.key_id", ValidateKeyID(ss.GetKeyId()))
	if n := len(ss.GetSignature()); n != ed25519.SignatureSize {
		v.add("signed_statement.signature", strconv.Itoa(n)+" bytes", "a 64-byte Ed25519 signature", ErrFormat)
	}
	return v.errs.Err()
}

// ValidateGovernance checks a governance action: exactly one action;
// register_key with an agency (a valid org-id and a name), a 32-byte
// public key and a label of at most 100 characters; revoke_key with a
// valid key id and a reason of at most 500 characters;
// rotate_governance_key with a 32-byte public key. It returns an [Errors]
// list, with paths rooted at "governance", or nil.
func ValidateGovernance(g *akashiv1.GovernanceAction) error {
	var v validation
	v.governance("governance", g)
	return v.errs.Err()
}

// validation accumulates violations.
type validation struct {
	errs Errors
}

func (v *validation) add(field, got, want string, err error) {
	v.errs = append(v.errs, &FieldError{Field: field, Got: got, Want: want, Err: err})
}

func (v *validation) missing(field, want string) {
	v.add(field, "nothing", want, ErrFormat)
}

func (v *validation) governance(p string, g *akashiv1.GovernanceAction) {
	if g == nil {
		v.add(p, "nil", "a governance action", ErrFormat)
		return
	}
	switch {
	case g.GetRegisterKey() != nil:
		rk := g.GetRegisterKey()
		p := p + ".register_key"
		v.organization(p+".agency", rk.GetAgency(), true)
		v.publicKey(p+".public_key", rk.GetPublicKey())
		v.line(p+".label", rk.GetLabel(), false, limLabelRunes)
	case g.GetRevokeKey() != nil:
		rk := g.GetRevokeKey()
		p := p + ".revoke_key"
		v.errs.Add(p+".key_id", ValidateKeyID(rk.GetKeyId()))
		v.text(p+".reason", rk.GetReason(), false, limReasonRunes)
	case g.GetRotateGovernanceKey() != nil:
		v.publicKey(p+".rotate_governance_key.public_key", g.GetRotateGovernanceKey().GetPublicKey())
	default:
		v.missing(p+".action", wantValidateUnspecified+"register_key, revoke_key, rotate_governance_key")
	}
}

func (v *validation) publicKey(field string, b []byte) {
	if len(b) != ed25519.PublicKeySize {
		v.add(field, strconv.Itoa(len(b))+" bytes", wantValidatePublicKey, ErrFormat)
	}
}

func (v *validation) record(p string, r *akashiv1.Record) {
	if r == nil {
		v.add(p, "nil", "a record", ErrFormat)
		return
	}
	v.id(p+".id", r.GetId(), true)
	v.id(p+".process_id", r.GetProcessId(), true)
	v.enum(p+".tag", r.GetTag(), false)
	switch tag := r.GetTag(); {
	case tag == akashiv1.Tag_TAG_NEW:
		if r.GetAmends() != "" {
			v.add(p+".amends", quote(r.GetAmends()), "empty for TAG_NEW", ErrFormat)
		}
		if r.GetRationale() != "" {
			v.add(p+".rationale", validatePlural(utf8.RuneCountInString(r.GetRationale()), "character"), "empty for TAG_NEW", ErrFormat)
		}
	case tag != akashiv1.Tag_TAG_UNSPECIFIED && validateEnumDefined(tag):
		if r.GetAmends() == "" {
			v.add(p+".amends", `""`, "the id of the record this one replaces (required unless tag is TAG_NEW)", ErrFormat)
		} else {
			v.id(p+".amends", r.GetAmends(), true)
			if r.GetAmends() == r.GetId() {
				v.add(p+".amends", quote(r.GetAmends())+" (the record's own id)", "the id of an earlier record", ErrOutOfRange)
			}
		}
		v.text(p+".rationale", r.GetRationale(), true, limRationaleRunes)
	}
	v.organization(p+".publisher", r.GetPublisher(), false)
	if j := r.GetJurisdiction(); j != "" {
		v.errs.Add(p+".jurisdiction", ValidateLocalGovernmentCode(j))
	}
	v.recordedAt(p+".recorded_at", r.GetRecordedAt())
	v.optionalDate(p+".effective_date", r.GetEffectiveDate())

	lb := r.GetLegalBasis()
	v.count(p+".legal_basis", len(lb), limLegalBasis)
	for i, b := range lb[:min(len(lb), limLegalBasis)] {
		q := validateIndex(p+".legal_basis", i)
		if b == nil {
			v.missing(q, "a legal basis")
			continue
		}
		v.lawID(q+".law_id", b.GetLawId())
		v.line(q+".article", b.GetArticle(), false, limArticleRunes)
		v.line(q+".title", b.GetTitle(), false, limTitleRunes)
	}

	docs := r.GetDocuments()
	v.count(p+".documents", len(docs), limDocuments)
	for i, d := range docs[:min(len(docs), limDocuments)] {
		q := validateIndex(p+".documents", i)
		if d == nil {
			v.missing(q, "a document")
			continue
		}
		v.url(q+".url", d.GetUrl())
		v.sha256(q+".sha256", d.GetSha256())
		v.line(q+".title", d.GetTitle(), false, limTitleRunes)
	}

	rel := r.GetRelated()
	v.count(p+".related", len(rel), limRelated)
	for i, x := range rel[:min(len(rel), limRelated)] {
		q := validateIndex(p+".related", i)
		if x == nil {
			v.missing(q, "a related record")
			continue
		}
		v.enum(q+".relation", x.GetRelation(), false)
		v.recordRef(q+".record", x.GetRecord(), true)
	}

	if l := r.GetLicense(); l != "" {
		v.license(p+".license", l)
	}

	switch {
	case r.GetDecision() != nil:
		v.decision(p+".decision", r.GetDecision())
	case r.GetRequest() != nil:
		v.request(p+".request", r.GetRequest())
	case r.GetDisbursement() != nil:
		v.disbursement(p+".disbursement", r.GetDisbursement())
	default:
		v.missing(p+".body", wantValidateUnspecified+"decision, request, disbursement")
	}
}

func (v *validation) decision(p string, d *akashiv1.Decision) {
	v.line(p+".title", d.GetTitle(), true, limTitleRunes)
	v.text(p+".description", d.GetDescription(), false, limDescriptionRunes)
	v.enum(p+".type", d.GetType(), false)
	v.line(p+".decided_by", d.GetDecidedBy(), false, limNameRunes)
	v.date(p+".decision_date", d.GetDecisionDate())
	v.period(p+".period", d.GetPeriod())
	v.areas(p+".areas", d.GetAreas())
	v.enum(p+".status", d.GetStatus(), false)
}

func (v *validation) request(p string, q *akashiv1.Request) {
	v.enum(p+".direction", q.GetDirection(), false)
	v.enum(p+".type", q.GetType(), false)
	v.line(p+".title", q.GetTitle(), true, limTitleRunes)
	v.text(p+".description", q.GetDescription(), false, limDescriptionRunes)

	as := q.GetAddressees()
	v.count(p+".addressees", len(as), limAddressees)
	for i, a := range as[:min(len(as), limAddressees)] {
		ap := validateIndex(p+".addressees", i)
		switch {
		case a.GetOrganization() != nil:
			v.organization(ap+".organization", a.GetOrganization(), false)
		case a.GetClass() != nil:
			c := a.GetClass()
			v.jsic(ap+".class.industry", c.GetIndustry())
			v.text(ap+".class.description", c.GetDescription(), false, limClassDescRunes)
			v.areas(ap+".class.areas", c.GetAreas())
		default:
			v.missing(ap+".target", wantValidateUnspecified+"organization, class")
		}
	}

	cs := q.GetConditions()
	v.count(p+".conditions", len(cs), limConditions)
	for i, c := range cs[:min(len(cs), limConditions)] {
		v.text(validateIndex(p+".conditions", i), c, true, limConditionRunes)
	}

	v.period(p+".period", q.GetPeriod())
	switch {
	case q.GetBasisDecision() != nil:
		v.recordRef(p+".basis_decision", q.GetBasisDecision(), true)
	case q.GetDirection() == akashiv1.RequestDirection_REQUEST_DIRECTION_GOVERNMENT_TO_PUBLIC:
		v.missing(p+".basis_decision", "a reference to the decision a request from government to the public rests on")
	}
	if cp := q.GetCompensationProgramme(); cp != "" {
		v.id(p+".compensation_programme", cp, true)
	}
	v.enum(p+".status", q.GetStatus(), false)

	if dd := q.GetDisclosure(); dd != nil {
		dp := p + ".disclosure"
		if q.GetType() != akashiv1.RequestType_REQUEST_TYPE_INFORMATION_DISCLOSURE {
			v.add(dp, "disclosure details on a "+validateEnumName(q.GetType())+" request", "none unless type is REQUEST_TYPE_INFORMATION_DISCLOSURE", ErrFormat)
		} else {
			received, rok := v.date(dp+".received_date", dd.GetReceivedDate())
			due, dok := v.optionalDate(dp+".due_date", dd.GetDueDate())
			if rok && dok && dd.GetDueDate() != "" && due.Before(received) {
				v.add(dp+".due_date", "due "+due.String()+" before received "+received.String(), "a due date on or after the received date", ErrPeriodOrder)
			}
			v.enum(dp+".outcome", dd.GetOutcome(), true)
			ex := dd.GetExemptions()
			v.count(dp+".exemptions", len(ex), limExemptions)
			for i, e := range ex[:min(len(ex), limExemptions)] {
				v.line(validateIndex(dp+".exemptions", i), e, true, limExemptionRunes)
			}
		}
	}
}

func (v *validation) disbursement(p string, d *akashiv1.Disbursement) {
	if pr := d.GetProgramme(); pr == nil {
		v.missing(p+".programme", "a programme with a code")
	} else {
		v.id(p+".programme.code", pr.GetCode(), true)
		v.line(p+".programme.title", pr.GetTitle(), false, limTitleRunes)
		v.line(p+".programme.funding_source", pr.GetFundingSource(), false, limTitleRunes)
	}
	v.id(p+".award_id", d.GetAwardId(), true)
	tt := d.GetTransactionType()
	v.enum(p+".transaction_type", tt, false)
	if m := d.GetAmount(); m == nil {
		v.missing(p+".amount", "an amount with a currency")
	} else {
		if _, err := CurrencyExponent(m.GetCurrency()); err != nil {
			v.errs.Add(p+".amount.currency", err)
		}
		switch n := m.GetMinorUnits(); {
		case n < 0:
			// Refunds and clawbacks are positive amounts typed by
			// transaction_type.
			v.add(p+".amount.minor_units", strconv.FormatInt(n, 10), ">= 0", ErrOutOfRange)
		case n == 0 && (tt == akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT || tt == akashiv1.TransactionType_TRANSACTION_TYPE_COMMITMENT):
			v.add(p+".amount.minor_units", "0", "> 0 for "+validateEnumName(tt), ErrOutOfRange)
		}
	}
	v.date(p+".value_date", d.GetValueDate())
	v.organization(p+".payer", d.GetPayer(), false)
	switch pe := d.GetPayee(); {
	case pe == nil:
		v.missing(p+".payee", "a payee: an organisation or an individual")
	case pe.GetOrganization() != nil:
		v.organization(p+".payee.organization", pe.GetOrganization(), false)
	case pe.GetIndividual() != nil:
		in := pe.GetIndividual()
		v.errs.Add(p+".payee.individual.id", ValidatePayeeID(in.GetId()))
		// CommitmentFromBytes reports the length only, never the bytes.
		if _, err := CommitmentFromBytes(in.GetCommitment()); err != nil {
			v.errs.Add(p+".payee.individual.commitment", err)
		}
	default:
		v.missing(p+".payee.kind", wantValidateUnspecified+"organization, individual")
	}
	if a := d.GetPayeeArea(); a != "" {
		v.errs.Add(p+".payee_area", ValidateLocalGovernmentCode(a))
	}
	v.period(p+".period_covered", d.GetPeriodCovered())
	if rr := d.GetRelatedRequest(); rr != nil {
		v.recordRef(p+".related_request", rr, true)
	}
	if n := d.GetFacilityCount(); n > limFacilityCount {
		v.add(p+".facility_count", strconv.FormatUint(uint64(n), 10), "at most "+strconv.Itoa(limFacilityCount), ErrOutOfRange)
	}
}

// organization checks an organisation that is present: a valid org-id and
// a name of at most 200 characters, required if nameRequired.
func (v *validation) organization(p string, o *akashiv1.Organization, nameRequired bool) {
	if o == nil {
		v.missing(p, wantValidateOrg)
		return
	}
	if _, err := ParseOrgID(o.GetId()); err != nil {
		v.errs.Add(p+".id", err)
	}
	v.line(p+".name", o.GetName(), nameRequired, limNameRunes)
}

// recordRef checks a record reference: an id with the id character set,
// and a publisher that is empty or a valid org-id.
func (v *validation) recordRef(p string, r *akashiv1.RecordRef, required bool) {
	if r == nil {
		if required {
			v.missing(p, wantValidateRef)
		}
		return
	}
	if pub := r.GetPublisher(); pub != "" {
		if _, err := ParseOrgID(pub); err != nil {
			v.errs.Add(p+".publisher", err)
		}
	}
	v.id(p+".id", r.GetId(), true)
}

// id checks an identifier: 1-128 characters from [A-Za-z0-9._:-].
func (v *validation) id(field, s string, required bool) {
	if s == "" {
		if required {
			v.add(field, `""`, wantValidateID, ErrFormat)
		}
		return
	}
	for i := 0; i < len(s); i++ {
		if !validateIDByte(s[i]) {
			v.add(field, quote(s), wantValidateID, ErrFormat)
			return
		}
	}
	if len(s) > limIDRunes { // ASCII only: bytes are characters
		v.add(field, strconv.Itoa(len(s))+" characters", wantValidateID, ErrOutOfRange)
	}
}

func validateIDByte(c byte) bool {
	return isUpperOrDigit(c) || 'a' <= c && c <= 'z' || c == '.' || c == '_' || c == ':' || c == '-'
}

// line checks a one-line value (a name or title): no control characters.
func (v *validation) line(field, s string, required bool, limit int) {
	v.checkText(field, s, required, limit, false)
}

// text checks a free-text value (a description): newline and tab allowed.
func (v *validation) text(field, s string, required bool, limit int) {
	v.checkText(field, s, required, limit, true)
}

func (v *validation) checkText(field, s string, required bool, limit int, multiline bool) {
	if strings.TrimFunc(s, unicode.IsSpace) == "" {
		if required {
			v.add(field, quote(s), fmt.Sprintf("1-%d characters, not all white space", limit), ErrFormat)
			return
		}
		if s == "" {
			return
		}
	}
	n := 0
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				v.add(field, fmt.Sprintf("a byte that is not UTF-8 at byte %d", i), wantValidateUTF8, ErrFormat)
				return
			}
		}
		if !validateRuneAllowed(r, multiline) {
			want := wantValidateLineChars
			if multiline {
				want = wantValidateTextChars
			}
			v.add(field, fmt.Sprintf("%U at character %d", r, n+1), want, ErrFormat)
			return
		}
		n++
	}
	if n > limit {
		v.add(field, validatePlural(n, "character"), "at most "+strconv.Itoa(limit)+" characters", ErrOutOfRange)
	}
}

// validatePlural returns "1 character", "2 characters".
func validatePlural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// validateRuneAllowed reports whether r may appear in a string value.
func validateRuneAllowed(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return multiline
	case unicode.IsControl(r):
		return false
	}
	switch r {
	case '\u061c', '\u200e', '\u200f', // ALM, LRM, RLM
		'\u202a', '\u202b', '\u202c', '\u202d', '\u202e', // embeddings and overrides
		'\u2066', '\u2067', '\u2068', '\u2069', // isolates
		'\u2028', '\u2029': // line and paragraph separators
		return false
	}
	return true
}

// enum checks that e is a value the schema defines and, unless
// zeroAllowed, not its zero (UNSPECIFIED) value.
func (v *validation) enum(field string, e protoreflect.Enum, zeroAllowed bool) {
	n := e.Number()
	values := e.Descriptor().Values()
	if !validateEnumDefined(e) {
		v.add(field, strconv.Itoa(int(n)), validateEnumWant(e, zeroAllowed), ErrUnknownCode)
		return
	}
	if n == 0 && !zeroAllowed {
		v.add(field, string(values.ByNumber(0).Name()), validateEnumWant(e, zeroAllowed), ErrFormat)
	}
}

func validateEnumDefined(e protoreflect.Enum) bool {
	return e.Descriptor().Values().ByNumber(e.Number()) != nil
}

func validateEnumWant(e protoreflect.Enum, zeroAllowed bool) string {
	values := e.Descriptor().Values()
	var names []string
	for i := 0; i < values.Len(); i++ {
		if val := values.Get(i); val.Number() != 0 || zeroAllowed {
			names = append(names, string(val.Name()))
		}
	}
	return "one of " + strings.Join(names, ", ")
}

// validateEnumName returns the name of e's value, or its number if undefined.
func validateEnumName(e protoreflect.Enum) string {
	if val := e.Descriptor().Values().ByNumber(e.Number()); val != nil {
		return string(val.Name())
	}
	return strconv.Itoa(int(e.Number()))
}

// date checks a required YYYY-MM-DD date.
func (v *validation) date(field, s string) (Date, bool) {
	d, err := ParseDate(s)
	if err != nil {
		v.errs.Add(field, err)
		return Date{}, false
	}
	return d, true
}

// optionalDate checks a date that may be empty.
func (v *validation) optionalDate(field, s string) (Date, bool) {
	if s == "" {
		return Date{}, true
	}
	return v.date(field, s)
}

// period checks a period that may be absent: a required start date and an
// end date that is empty (open-ended) or not before the start.
func (v *validation) period(p string, per *akashiv1.Period) {
	if per == nil {
		return
	}
	start, sok := v.date(p+".start_date", per.GetStartDate())
	if per.GetEndDate() == "" {
		return
	}
	end, eok := v.date(p+".end_date", per.GetEndDate())
	if sok && eok {
		if _, err := NewPeriod(start, end); err != nil {
			v.errs.Add(p, err)
		}
	}
}

// areas checks a list of local government codes: at most 2000, each
// valid, none repeated.
func (v *validation) areas(p string, codes []string) {
	v.count(p, len(codes), limAreas)
	seen := make(map[string]int, len(codes))
	for i, c := range codes[:min(len(codes), limAreas)] {
		field := validateIndex(p, i)
		if err := ValidateLocalGovernmentCode(c); err != nil {
			v.errs.Add(field, err)
			continue
		}
		if j, dup := seen[c]; dup {
			v.add(field, quote(c)+", already at "+validateIndex(p, j), "each area once", ErrFormat)
			continue
		}
		seen[c] = i
	}
}

// count checks the number of entries of a list.
func (v *validation) count(field string, n, limit int) {
	if n > limit {
		v.add(field, strconv.Itoa(n)+" entries", "at most "+strconv.Itoa(limit)+" entries", ErrOutOfRange)
	}
}

func (v *validation) recordedAt(field, s string) {
	if s == "" {
		v.add(field, `""`, wantValidateRecordedAt, ErrFormat)
		return
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		v.add(field, quote(s), wantValidateRecordedAt, ErrFormat)
		return
	}
	if y := t.Year(); y < minRecordedAtYear || y > maxYear {
		v.add(field, quote(s), fmt.Sprintf("a year in %d-%d", minRecordedAtYear, maxYear), ErrOutOfRange)
	}
}

// lawID checks an e-Gov law id: 3 digits, 2 uppercase letters, 10 digits.
func (v *validation) lawID(field, s string) {
	ok := len(s) == 15 && isDigits(s[:3], 3) && isUpper(s[3]) && isUpper(s[4]) && isDigits(s[5:], 10)
	if !ok {
		v.add(field, quote(s), wantValidateLawID, ErrFormat)
	}
}

func (v *validation) url(field, s string) {
	if n := utf8.RuneCountInString(s); n > limURLRunes {
		v.add(field, strconv.Itoa(n)+" characters", "at most "+strconv.Itoa(limURLRunes)+" characters", ErrOutOfRange)
		return
	}
	bad := s == "" || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || !validateRuneAllowed(r, false)
	})
	got := quote(s)
	if !bad {
		u, err := url.Parse(s)
		bad = err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.User != nil || u.Opaque != ""
		if err == nil && u.User != nil {
			got = quote(u.Redacted()) // never echo a password
		}
	}
	if bad {
		v.add(field, got, wantValidateURL, ErrFormat)
	}
}

func (v *validation) sha256(field, s string) {
	ok := len(s) == 64
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
	}
	if !ok {
		v.add(field, quote(s), wantValidateSHA256, ErrFormat)
	}
}

func (v *validation) license(field, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isUpperOrDigit(c) || 'a' <= c && c <= 'z' || c == '.' || c == '+' || c == '-') {
			v.add(field, quote(s), wantValidateLicense, ErrFormat)
			return
		}
	}
	if len(s) > limLicenseRunes {
		v.add(field, strconv.Itoa(len(s))+" characters", wantValidateLicense, ErrOutOfRange)
	}
}

// jsic checks a Japan Standard Industrial Classification code: a division
// letter A-T, or a 2-digit major group, 3-digit group or 4-digit
// industry number.
func (v *validation) jsic(field, s string) {
	ok := len(s) == 1 && 'A' <= s[0] && s[0] <= 'T' ||
		len(s) >= 2 && len(s) <= 4 && isDigits(s, len(s))
	if !ok {
		v.add(field, quote(s), wantValidateJSIC, ErrFormat)
	}
}

// index returns "p[i]".
func validateIndex(p string, i int) string {
	return p + "[" + strconv.Itoa(i) + "]"
}
