// SPDX-License-Identifier: Apache-2.0

package record

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// Fixtures: one valid record per body kind, modelled on Tokyo's 2020
// cooperation allowance. Each call returns a fresh message.

const (
	fixtureTokyo    = "JP-JCN-8000020130001" // Tokyo Metropolitan Government
	fixtureCompany  = "JP-JCN-1180301018771"
	fixtureLawID    = "424AC0000000031" // Act on Special Measures (2012 Act No. 31)
	fixtureDecision = "tokyo-2020-emergency-measures-1"
	fixtureRequest  = "tokyo-2020-shorter-hours-1"
)

var fixtureCommitment = sha256.Sum256([]byte("not a real commitment"))

func fixturePayeeID() string {
	return PayeeIDPrefix + payeeEncoding.EncodeToString([]byte("akashi-test-0001"))
}

func fixtureEnvelope(id string) *akashiv1.Record {
	return &akashiv1.Record{
		Id:            id,
		ProcessId:     id,
		Tag:           akashiv1.Tag_TAG_NEW,
		Publisher:     &akashiv1.Organization{Id: fixtureTokyo, Name: "東京都"},
		Jurisdiction:  "130001",
		RecordedAt:    "2020-04-10T18:30:00+09:00",
		EffectiveDate: "2020-04-11",
		LegalBasis: []*akashiv1.LegalBasis{{
			LawId:   fixtureLawID,
			Article: "45(2)",
			Title:   "新型インフルエンザ等対策特別措置法",
		}},
		Documents: []*akashiv1.Document{{
			Url:    "https://www.metro.tokyo.lg.jp/tosei/hodohappyo/press/2020/04/10/documents/01.pdf",
			Sha256: hex.EncodeToString(fixtureCommitment[:]),
			Title:  "緊急事態措置等",
		}},
		License: "CC-BY-4.0",
	}
}

func fixtureDecisionRecord() *akashiv1.Record {
	r := fixtureEnvelope(fixtureDecision)
	r.Body = &akashiv1.Record_Decision{Decision: &akashiv1.Decision{
		Title:        "新型コロナウイルス感染拡大防止のための東京都における緊急事態措置",
		Description:  "施設の使用制限の要請等を行う。\n\t詳細は別紙のとおり。",
		Type:         akashiv1.DecisionType_DECISION_TYPE_POLICY,
		DecidedBy:    "東京都知事",
		DecisionDate: "2020-04-10",
		Period:       &akashiv1.Period{StartDate: "2020-04-11", EndDate: "2020-05-06"},
		Areas:        []string{"130001"},
		Status:       akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE,
	}}
	return r
}

func fixtureRequestRecord() *akashiv1.Record {
	r := fixtureEnvelope(fixtureRequest)
	r.Body = &akashiv1.Record_Request{Request: &akashiv1.Request{
		Direction:   akashiv1.RequestDirection_REQUEST_DIRECTION_GOVERNMENT_TO_PUBLIC,
		Type:        akashiv1.RequestType_REQUEST_TYPE_COOPERATION,
		Title:       "営業時間短縮の要請",
		Description: "飲食店に対し、営業時間の短縮を要請する。",
		Addressees: []*akashiv1.Addressee{
			{Target: &akashiv1.Addressee_Class{Class: &akashiv1.AddresseeClass{
				Industry:    "76",
				Description: "飲食店",
				Areas:       []string{"131016", "131041"},
			}}},
			{Target: &akashiv1.Addressee_Organization{Organization: &akashiv1.Organization{Id: fixtureCompany}}},
		},
		Conditions:            []string{"営業時間は5時から20時まで", "酒類の提供は19時まで"},
		Period:                &akashiv1.Period{StartDate: "2020-04-11", EndDate: "2020-05-06"},
		BasisDecision:         &akashiv1.RecordRef{Id: fixtureDecision},
		CompensationProgramme: "TKY-2020-KYORYOKUKIN",
		Status:                akashiv1.RequestStatus_REQUEST_STATUS_ACTIVE,
	}}
	return r
}

func fixtureDisclosureRecord() *akashiv1.Record {
	r := fixtureRequestRecord()
	q := r.GetRequest()
	q.Direction = akashiv1.RequestDirection_REQUEST_DIRECTION_PUBLIC_TO_GOVERNMENT
	q.Type = akashiv1.RequestType_REQUEST_TYPE_INFORMATION_DISCLOSURE
	q.Title = "協力金の支給状況に関する文書の開示請求"
	q.Addressees, q.Conditions, q.BasisDecision, q.CompensationProgramme = nil, nil, nil, ""
	q.Disclosure = &akashiv1.DisclosureDetails{
		ReceivedDate: "2020-06-01",
		DueDate:      "2020-06-15",
		Outcome:      akashiv1.DisclosureOutcome_DISCLOSURE_OUTCOME_PARTIALLY_DISCLOSED,
		Exemptions:   []string{"第7条第2号"},
	}
	return r
}

func fixtureDisbursementRecord() *akashiv1.Record {
	r := fixtureEnvelope("TKY-KYR-2020-000123-1")
	r.ProcessId = "TKY-KYR-2020-000123"
	r.Body = &akashiv1.Record_Disbursement{Disbursement: &akashiv1.Disbursement{
		Programme: &akashiv1.Programme{
			Code:          "TKY-2020-KYORYOKUKIN-1",
			Title:         "感染拡大防止協力金",
			FundingSource: "東京都一般会計",
		},
		AwardId:         "TKY-KYR-2020-000123",
		TransactionType: akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT,
		Amount:          &akashiv1.Money{MinorUnits: 500000, Currency: "JPY"},
		ValueDate:       "2020-05-15",
		Payer:           &akashiv1.Organization{Id: fixtureTokyo, Name: "東京都"},
		Payee: &akashiv1.Payee{Kind: &akashiv1.Payee_Individual{Individual: &akashiv1.PersonalPayee{
			Id:         fixturePayeeID(),
			Commitment: bytes.Clone(fixtureCommitment[:]),
		}}},
		PayeeArea:      "131016",
		PeriodCovered:  &akashiv1.Period{StartDate: "2020-04-11", EndDate: "2020-05-06"},
		RelatedRequest: &akashiv1.RecordRef{Publisher: fixtureTokyo, Id: fixtureRequest},
		FacilityCount:  1,
	}}
	return r
}

func fixturePublicKey() []byte {
	seed := sha256.Sum256([]byte("akashi test key"))
	return ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
}

func fixtureRegisterKey() *akashiv1.GovernanceAction {
	return &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{
		Agency:    &akashiv1.Organization{Id: fixtureTokyo, Name: "東京都"},
		PublicKey: fixturePublicKey(),
		Label:     "総務局 1",
	}}}
}

func fixtureRevokeKey() *akashiv1.GovernanceAction {
	return &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RevokeKey{RevokeKey: &akashiv1.RevokeKey{
		KeyId:  KeyID(fixturePublicKey()),
		Reason: "rotated",
	}}}
}

func fixtureRotateKey() *akashiv1.GovernanceAction {
	return &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RotateGovernanceKey{
		RotateGovernanceKey: &akashiv1.RotateGovernanceKey{PublicKey: fixturePublicKey()},
	}}
}

func fixtureRecordStatement(r *akashiv1.Record) *akashiv1.Statement {
	return &akashiv1.Statement{Sequence: 1, Body: &akashiv1.Statement_Record{Record: r}}
}

func fixtureGovernanceStatement(g *akashiv1.GovernanceAction) *akashiv1.Statement {
	return &akashiv1.Statement{Sequence: 1, Body: &akashiv1.Statement_Governance{Governance: g}}
}

// fixtureStatements returns one valid statement of each kind.
func fixtureStatements() map[string]*akashiv1.Statement {
	return map[string]*akashiv1.Statement{
		"decision":     fixtureRecordStatement(fixtureDecisionRecord()),
		"request":      fixtureRecordStatement(fixtureRequestRecord()),
		"disclosure":   fixtureRecordStatement(fixtureDisclosureRecord()),
		"disbursement": fixtureRecordStatement(fixtureDisbursementRecord()),
		"register_key": fixtureGovernanceStatement(fixtureRegisterKey()),
		"revoke_key":   fixtureGovernanceStatement(fixtureRevokeKey()),
		"rotate_key":   fixtureGovernanceStatement(fixtureRotateKey()),
	}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

// lgCodes returns n distinct valid local government codes.
func lgCodes(t testing.TB, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for pref := 1; pref <= NumPrefectures && len(out) < n; pref++ {
		for m := 0; m < 1000 && len(out) < n; m++ {
			code, err := LocalGovernmentCodeFromBase(fmt.Sprintf("%02d%03d", pref, m))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, code)
		}
	}
	return out
}

// checkOne asserts that err is an Errors list of exactly one violation
// at field wrapping sentinel, in the form "field: got X, want Y".
func checkOne(t *testing.T, err error, field string, sentinel error) {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error = %v (%T), want an Errors list with %s", err, err, field)
	}
	if len(es) != 1 {
		t.Fatalf("error = %v\nwant exactly one violation, at %s", err, field)
	}
	fe := es[0]
	if fe.Field != field {
		t.Errorf("Field = %q, want %q (error %v)", fe.Field, field, fe)
	}
	if !errors.Is(fe, sentinel) {
		t.Errorf("errors.Is(%v, %v) = false", fe, sentinel)
	}
	if fe.Got == "" || fe.Want == "" {
		t.Errorf("error %q: want non-empty Got and Want", fe)
	}
	if msg := fe.Error(); !strings.HasPrefix(msg, field+": got ") || !strings.Contains(msg, ", want ") {
		t.Errorf("message %q is not of the form %q", msg, field+": got X, want Y")
	}
	checkBounded(t, fe)
}

// checkBounded asserts that an error does not echo long values.
func checkBounded(t testing.TB, fe *FieldError) {
	t.Helper()
	// A quoted 64-byte value is at most 4*64+2+3 bytes; descriptions
	// around it are short.
	if len(fe.Got) > 400 {
		t.Errorf("Got has %d bytes, want a short description: %.100s...", len(fe.Got), fe.Got)
	}
}

type recordCase struct {
	name   string
	base   func() *akashiv1.Record
	mutate func(r *akashiv1.Record)
	field  string
	is     error
}

func decisionOf(r *akashiv1.Record) *akashiv1.Decision         { return r.GetDecision() }
func requestOf(r *akashiv1.Record) *akashiv1.Request           { return r.GetRequest() }
func disbursementOf(r *akashiv1.Record) *akashiv1.Disbursement { return r.GetDisbursement() }

func correction(r *akashiv1.Record) {
	r.Tag = akashiv1.Tag_TAG_CORRECTION
	r.Id += "-c1"
	r.Amends = fixtureDecision
	r.Rationale = "期間の誤記を訂正"
}

func recordCases(t *testing.T) []recordCase {
	dec, req, dis, dcl := fixtureDecisionRecord, fixtureRequestRecord, fixtureDisbursementRecord, fixtureDisclosureRecord
	long := func(n int) string { return strings.Repeat("あ", n) }
	areas2001 := lgCodes(t, 2001)
	return []recordCase{
		// Envelope.
		{"id empty", dec, func(r *akashiv1.Record) { r.Id = "" }, "record.id", ErrFormat},
		{"id space", dec, func(r *akashiv1.Record) { r.Id = "a b" }, "record.id", ErrFormat},
		{"id non-ASCII", dec, func(r *akashiv1.Record) { r.Id = "東京-1" }, "record.id", ErrFormat},
		{"id slash", dec, func(r *akashiv1.Record) { r.Id = "a/b" }, "record.id", ErrFormat},
		{"id too long", dec, func(r *akashiv1.Record) { r.Id = strings.Repeat("x", 129) }, "record.id", ErrOutOfRange},
		{"process_id empty", dec, func(r *akashiv1.Record) { r.ProcessId = "" }, "record.process_id", ErrFormat},
		{"process_id bad", dec, func(r *akashiv1.Record) { r.ProcessId = "ocds/1" }, "record.process_id", ErrFormat},
		{"tag unspecified", dec, func(r *akashiv1.Record) { r.Tag = akashiv1.Tag_TAG_UNSPECIFIED }, "record.tag", ErrFormat},
		{"tag undefined", dec, func(r *akashiv1.Record) { r.Tag = 99 }, "record.tag", ErrUnknownCode},
		{"new with amends", dec, func(r *akashiv1.Record) { r.Amends = "x" }, "record.amends", ErrFormat},
		{"new with rationale", dec, func(r *akashiv1.Record) { r.Rationale = "x" }, "record.rationale", ErrFormat},
		{"correction without amends", dec, func(r *akashiv1.Record) { correction(r); r.Amends = "" }, "record.amends", ErrFormat},
		{"correction amends itself", dec, func(r *akashiv1.Record) { correction(r); r.Amends = r.Id }, "record.amends", ErrOutOfRange},
		{"correction amends bad", dec, func(r *akashiv1.Record) { correction(r); r.Amends = "a b" }, "record.amends", ErrFormat},
		{"correction amends too long", dec, func(r *akashiv1.Record) { correction(r); r.Amends = strings.Repeat("x", 129) }, "record.amends", ErrOutOfRange},
		{"update without rationale", dec, func(r *akashiv1.Record) { correction(r); r.Tag = akashiv1.Tag_TAG_UPDATE; r.Rationale = "" }, "record.rationale", ErrFormat},
		{"withdrawal blank rationale", dec, func(r *akashiv1.Record) { correction(r); r.Tag = akashiv1.Tag_TAG_WITHDRAWAL; r.Rationale = " \n\t　" }, "record.rationale", ErrFormat},
		{"rationale too long", dec, func(r *akashiv1.Record) { correction(r); r.Rationale = long(2001) }, "record.rationale", ErrOutOfRange},
		{"rationale carriage return", dec, func(r *akashiv1.Record) { correction(r); r.Rationale = "a\r\nb" }, "record.rationale", ErrFormat},
		{"publisher missing", dec, func(r *akashiv1.Record) { r.Publisher = nil }, "record.publisher", ErrFormat},
		{"publisher id empty", dec, func(r *akashiv1.Record) { r.Publisher.Id = "" }, "record.publisher.id", ErrFormat},
		{"publisher id check digit", dec, func(r *akashiv1.Record) { r.Publisher.Id = "JP-JCN-8000020130002" }, "record.publisher.id", ErrCheckDigit},
		{"publisher id no scheme", dec, func(r *akashiv1.Record) { r.Publisher.Id = "8000020130001" }, "record.publisher.id", ErrFormat},
		{"publisher name too long", dec, func(r *akashiv1.Record) { r.Publisher.Name = long(201) }, "record.publisher.name", ErrOutOfRange},
		{"publisher name NUL", dec, func(r *akashiv1.Record) { r.Publisher.Name = "東京\x00都" }, "record.publisher.name", ErrFormat},
		{"publisher name newline", dec, func(r *akashiv1.Record) { r.Publisher.Name = "東京\n都" }, "record.publisher.name", ErrFormat},
		{"publisher name C1 control", dec, func(r *akashiv1.Record) { r.Publisher.Name = "東京\u0085都" }, "record.publisher.name", ErrFormat},
		{"publisher name bidi override", dec, func(r *akashiv1.Record) { r.Publisher.Name = "東京\u202e都" }, "record.publisher.name", ErrFormat},
		{"publisher name invalid UTF-8", dec, func(r *akashiv1.Record) { r.Publisher.Name = "東京\xff" }, "record.publisher.name", ErrFormat},
		{"jurisdiction check digit", dec, func(r *akashiv1.Record) { r.Jurisdiction = "130002" }, "record.jurisdiction", ErrCheckDigit},
		{"jurisdiction short", dec, func(r *akashiv1.Record) { r.Jurisdiction = "13000" }, "record.jurisdiction", ErrFormat},
		{"jurisdiction prefecture 48", dec, func(r *akashiv1.Record) { r.Jurisdiction = "480001" }, "record.jurisdiction", ErrOutOfRange},
		{"recorded_at empty", dec, func(r *akashiv1.Record) { r.RecordedAt = "" }, "record.recorded_at", ErrFormat},
		{"recorded_at date only", dec, func(r *akashiv1.Record) { r.RecordedAt = "2020-04-10" }, "record.recorded_at", ErrFormat},
		{"recorded_at no offset", dec, func(r *akashiv1.Record) { r.RecordedAt = "2020-04-10T18:30:00" }, "record.recorded_at", ErrFormat},
		{"recorded_at space", dec, func(r *akashiv1.Record) { r.RecordedAt = "2020-04-10 18:30:00+09:00" }, "record.recorded_at", ErrFormat},
		{"recorded_at hour 25", dec, func(r *akashiv1.Record) { r.RecordedAt = "2020-04-10T25:30:00+09:00" }, "record.recorded_at", ErrFormat},
		{"recorded_at before 1900", dec, func(r *akashiv1.Record) { r.RecordedAt = "1899-12-31T23:59:59Z" }, "record.recorded_at", ErrOutOfRange},
		{"effective_date 30 February", dec, func(r *akashiv1.Record) { r.EffectiveDate = "2020-02-30" }, "record.effective_date", ErrOutOfRange},
		{"effective_date slashes", dec, func(r *akashiv1.Record) { r.EffectiveDate = "2020/04/11" }, "record.effective_date", ErrFormat},
		{"legal_basis law_id empty", dec, func(r *akashiv1.Record) { r.LegalBasis[0].LawId = "" }, "record.legal_basis[0].law_id", ErrFormat},
		{"legal_basis law_id lower case", dec, func(r *akashiv1.Record) { r.LegalBasis[0].LawId = "424ac0000000031" }, "record.legal_basis[0].law_id", ErrFormat},
		{"legal_basis law_id short", dec, func(r *akashiv1.Record) { r.LegalBasis[0].LawId = "424AC000000003" }, "record.legal_basis[0].law_id", ErrFormat},
		{"legal_basis[2] law_id", dec, func(r *akashiv1.Record) {
			r.LegalBasis = append(r.LegalBasis, &akashiv1.LegalBasis{LawId: fixtureLawID}, &akashiv1.LegalBasis{LawId: "Act 31"})
		}, "record.legal_basis[2].law_id", ErrFormat},
		{"legal_basis nil entry", dec, func(r *akashiv1.Record) { r.LegalBasis = append(r.LegalBasis, nil) }, "record.legal_basis[1]", ErrFormat},
		{"legal_basis article too long", dec, func(r *akashiv1.Record) { r.LegalBasis[0].Article = strings.Repeat("1", 51) }, "record.legal_basis[0].article", ErrOutOfRange},
		{"legal_basis title too long", dec, func(r *akashiv1.Record) { r.LegalBasis[0].Title = long(301) }, "record.legal_basis[0].title", ErrOutOfRange},
		{"legal_basis too many", dec, func(r *akashiv1.Record) {
			for len(r.LegalBasis) < 51 {
				r.LegalBasis = append(r.LegalBasis, &akashiv1.LegalBasis{LawId: fixtureLawID})
			}
		}, "record.legal_basis", ErrOutOfRange},
		{"documents url ftp", dec, func(r *akashiv1.Record) { r.Documents[0].Url = "ftp://example.jp/a.pdf" }, "record.documents[0].url", ErrFormat},
		{"documents url relative", dec, func(r *akashiv1.Record) { r.Documents[0].Url = "/a.pdf" }, "record.documents[0].url", ErrFormat},
		{"documents url no host", dec, func(r *akashiv1.Record) { r.Documents[0].Url = "https:///a.pdf" }, "record.documents[0].url", ErrFormat},
		{"documents url port only", dec, func(r *akashiv1.Record) { r.Documents[0].Url = "https://:443/a.pdf" }, "record.documents[0].url", ErrFormat},
		{"documents url opaque", dec, func(r *akashiv1.Record) { r.Documents[0].Url = "https:example.jp" }, "record.documents[0].url", ErrFormat},
		{"documents url credentials", dec, func(r *akashiv1.Record) { r.Documents[0].Url = "https://user:secret@example.jp/a.pdf" }, "record.documents[0].url", ErrFormat},
		{"documents url space", dec, func(r *akashiv1.Record) { r.Documents[0].Url = "https://example.jp/a b.pdf" }, "record.documents[0].url", ErrFormat},
		{"documents url empty", dec, func(r *akashiv1.Record) { r.Documents[0].Url = "" }, "record.documents[0].url", ErrFormat},
		{"documents url too long", dec, func(r *akashiv1.Record) { r.Documents[0].Url = "https://example.jp/" + strings.Repeat("a", 2030) }, "record.documents[0].url", ErrOutOfRange},
		{"documents sha256 upper case", dec, func(r *akashiv1.Record) { r.Documents[0].Sha256 = strings.ToUpper(r.Documents[0].Sha256) }, "record.documents[0].sha256", ErrFormat},
		{"documents sha256 short", dec, func(r *akashiv1.Record) { r.Documents[0].Sha256 = r.Documents[0].Sha256[:63] }, "record.documents[0].sha256", ErrFormat},
		{"documents sha256 empty", dec, func(r *akashiv1.Record) { r.Documents[0].Sha256 = "" }, "record.documents[0].sha256", ErrFormat},
		{"documents title tab", dec, func(r *akashiv1.Record) { r.Documents[0].Title = "a\tb" }, "record.documents[0].title", ErrFormat},
		{"documents too many", dec, func(r *akashiv1.Record) {
			for len(r.Documents) < 101 {
				r.Documents = append(r.Documents, proto.Clone(r.Documents[0]).(*akashiv1.Document))
			}
		}, "record.documents", ErrOutOfRange},
		{"related relation unspecified", dec, func(r *akashiv1.Record) {
			r.Related = []*akashiv1.RelatedRecord{{Record: &akashiv1.RecordRef{Id: "x"}}}
		}, "record.related[0].relation", ErrFormat},
		{"related record missing", dec, func(r *akashiv1.Record) {
			r.Related = []*akashiv1.RelatedRecord{{Relation: akashiv1.Relation_RELATION_SEE_ALSO}}
		}, "record.related[0].record", ErrFormat},
		{"related record id", dec, func(r *akashiv1.Record) {
			r.Related = []*akashiv1.RelatedRecord{{Relation: akashiv1.Relation_RELATION_SEE_ALSO, Record: &akashiv1.RecordRef{Id: ""}}}
		}, "record.related[0].record.id", ErrFormat},
		{"related record publisher", dec, func(r *akashiv1.Record) {
			r.Related = []*akashiv1.RelatedRecord{{Relation: akashiv1.Relation_RELATION_SEE_ALSO, Record: &akashiv1.RecordRef{Id: "x", Publisher: "JP-JCN-1180301018772"}}}
		}, "record.related[0].record.publisher", ErrCheckDigit},
		{"related too many", dec, func(r *akashiv1.Record) {
			for len(r.Related) < 101 {
				r.Related = append(r.Related, &akashiv1.RelatedRecord{Relation: akashiv1.Relation_RELATION_CONTINUES, Record: &akashiv1.RecordRef{Id: "x"}})
			}
		}, "record.related", ErrOutOfRange},
		{"license space", dec, func(r *akashiv1.Record) { r.License = "CC BY 4.0" }, "record.license", ErrFormat},
		{"license too long", dec, func(r *akashiv1.Record) { r.License = strings.Repeat("A", 65) }, "record.license", ErrOutOfRange},
		{"body missing", dec, func(r *akashiv1.Record) { r.Body = nil }, "record.body", ErrFormat},

		// Decision.
		{"decision title empty", dec, func(r *akashiv1.Record) { decisionOf(r).Title = "" }, "record.decision.title", ErrFormat},
		{"decision title blank", dec, func(r *akashiv1.Record) { decisionOf(r).Title = "　 " }, "record.decision.title", ErrFormat},
		{"decision title too long", dec, func(r *akashiv1.Record) { decisionOf(r).Title = long(301) }, "record.decision.title", ErrOutOfRange},
		{"decision title newline", dec, func(r *akashiv1.Record) { decisionOf(r).Title = "a\nb" }, "record.decision.title", ErrFormat},
		{"decision description too long", dec, func(r *akashiv1.Record) { decisionOf(r).Description = long(20001) }, "record.decision.description", ErrOutOfRange},
		{"decision description bell", dec, func(r *akashiv1.Record) { decisionOf(r).Description = "a\ab" }, "record.decision.description", ErrFormat},
		{"decision description isolate", dec, func(r *akashiv1.Record) { decisionOf(r).Description = "a\u2066b" }, "record.decision.description", ErrFormat},
		{"decision type unspecified", dec, func(r *akashiv1.Record) { decisionOf(r).Type = 0 }, "record.decision.type", ErrFormat},
		{"decision type undefined", dec, func(r *akashiv1.Record) { decisionOf(r).Type = 8 }, "record.decision.type", ErrUnknownCode},
		{"decision decided_by too long", dec, func(r *akashiv1.Record) { decisionOf(r).DecidedBy = long(201) }, "record.decision.decided_by", ErrOutOfRange},
		{"decision decision_date empty", dec, func(r *akashiv1.Record) { decisionOf(r).DecisionDate = "" }, "record.decision.decision_date", ErrFormat},
		{"decision decision_date invalid", dec, func(r *akashiv1.Record) { decisionOf(r).DecisionDate = "2020-04-31" }, "record.decision.decision_date", ErrOutOfRange},
		{"decision period start missing", dec, func(r *akashiv1.Record) { decisionOf(r).Period.StartDate = "" }, "record.decision.period.start_date", ErrFormat},
		{"decision period end invalid", dec, func(r *akashiv1.Record) { decisionOf(r).Period.EndDate = "2020-13-01" }, "record.decision.period.end_date", ErrOutOfRange},
		{"decision period reversed", dec, func(r *akashiv1.Record) { decisionOf(r).Period.EndDate = "2020-04-10" }, "record.decision.period", ErrPeriodOrder},
		{"decision areas check digit", dec, func(r *akashiv1.Record) { decisionOf(r).Areas = []string{"130001", "131017"} }, "record.decision.areas[1]", ErrCheckDigit},
		{"decision areas duplicate", dec, func(r *akashiv1.Record) { decisionOf(r).Areas = []string{"130001", "131016", "130001"} }, "record.decision.areas[2]", ErrFormat},
		{"decision areas too many", dec, func(r *akashiv1.Record) { decisionOf(r).Areas = areas2001 }, "record.decision.areas", ErrOutOfRange},
		{"decision status unspecified", dec, func(r *akashiv1.Record) { decisionOf(r).Status = 0 }, "record.decision.status", ErrFormat},
		{"decision status undefined", dec, func(r *akashiv1.Record) { decisionOf(r).Status = 42 }, "record.decision.status", ErrUnknownCode},

		// Request.
		{"request direction unspecified", req, func(r *akashiv1.Record) { requestOf(r).Direction = 0 }, "record.request.direction", ErrFormat},
		{"request type unspecified", req, func(r *akashiv1.Record) { requestOf(r).Type = 0 }, "record.request.type", ErrFormat},
		{"request type undefined", req, func(r *akashiv1.Record) { requestOf(r).Type = 5 }, "record.request.type", ErrUnknownCode},
		{"request status unspecified", req, func(r *akashiv1.Record) { requestOf(r).Status = 0 }, "record.request.status", ErrFormat},
		{"request title empty", req, func(r *akashiv1.Record) { requestOf(r).Title = "" }, "record.request.title", ErrFormat},
		{"request title too long", req, func(r *akashiv1.Record) { requestOf(r).Title = long(301) }, "record.request.title", ErrOutOfRange},
		{"request description too long", req, func(r *akashiv1.Record) { requestOf(r).Description = long(20001) }, "record.request.description", ErrOutOfRange},
		{"request addressee without target", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0] = &akashiv1.Addressee{} }, "record.request.addressees[0].target", ErrFormat},
		{"request addressee organization id", req, func(r *akashiv1.Record) {
			requestOf(r).Addressees[1].GetOrganization().Id = "JP-JCN-1180301018772"
		}, "record.request.addressees[1].organization.id", ErrCheckDigit},
		{"request addressee organization name", req, func(r *akashiv1.Record) {
			requestOf(r).Addressees[1].GetOrganization().Name = "a\x1bb"
		}, "record.request.addressees[1].organization.name", ErrFormat},
		{"request class industry empty", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0].GetClass().Industry = "" }, "record.request.addressees[0].class.industry", ErrFormat},
		{"request class industry U", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0].GetClass().Industry = "U" }, "record.request.addressees[0].class.industry", ErrFormat},
		{"request class industry 1 digit", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0].GetClass().Industry = "7" }, "record.request.addressees[0].class.industry", ErrFormat},
		{"request class industry 5 digits", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0].GetClass().Industry = "76111" }, "record.request.addressees[0].class.industry", ErrFormat},
		{"request class industry letter+digits", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0].GetClass().Industry = "M76" }, "record.request.addressees[0].class.industry", ErrFormat},
		{"request class description too long", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0].GetClass().Description = long(301) }, "record.request.addressees[0].class.description", ErrOutOfRange},
		{"request class areas[1]", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0].GetClass().Areas[1] = "131040" }, "record.request.addressees[0].class.areas[1]", ErrCheckDigit},
		{"request class areas too many", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0].GetClass().Areas = areas2001 }, "record.request.addressees[0].class.areas", ErrOutOfRange},
		{"request addressees too many", req, func(r *akashiv1.Record) {
			q := requestOf(r)
			for len(q.Addressees) < 1001 {
				q.Addressees = append(q.Addressees, proto.Clone(q.Addressees[1]).(*akashiv1.Addressee))
			}
		}, "record.request.addressees", ErrOutOfRange},
		{"request condition empty", req, func(r *akashiv1.Record) { requestOf(r).Conditions[1] = "" }, "record.request.conditions[1]", ErrFormat},
		{"request condition too long", req, func(r *akashiv1.Record) { requestOf(r).Conditions[0] = long(1001) }, "record.request.conditions[0]", ErrOutOfRange},
		{"request conditions too many", req, func(r *akashiv1.Record) {
			q := requestOf(r)
			for len(q.Conditions) < 101 {
				q.Conditions = append(q.Conditions, "x")
			}
		}, "record.request.conditions", ErrOutOfRange},
		{"request period start missing", req, func(r *akashiv1.Record) { requestOf(r).Period.StartDate = "" }, "record.request.period.start_date", ErrFormat},
		{"request period reversed", req, func(r *akashiv1.Record) { requestOf(r).Period.StartDate = "2020-05-07" }, "record.request.period", ErrPeriodOrder},
		{"request basis_decision missing", req, func(r *akashiv1.Record) { requestOf(r).BasisDecision = nil }, "record.request.basis_decision", ErrFormat},
		{"request basis_decision id", req, func(r *akashiv1.Record) { requestOf(r).BasisDecision.Id = "a b" }, "record.request.basis_decision.id", ErrFormat},
		{"request basis_decision publisher", req, func(r *akashiv1.Record) { requestOf(r).BasisDecision.Publisher = "tokyo" }, "record.request.basis_decision.publisher", ErrFormat},
		{"request compensation_programme", req, func(r *akashiv1.Record) { requestOf(r).CompensationProgramme = "協力金" }, "record.request.compensation_programme", ErrFormat},
		{"request disclosure on cooperation", req, func(r *akashiv1.Record) {
			requestOf(r).Disclosure = &akashiv1.DisclosureDetails{ReceivedDate: "2020-06-01"}
		}, "record.request.disclosure", ErrFormat},
		{"disclosure received_date missing", dcl, func(r *akashiv1.Record) { requestOf(r).Disclosure.ReceivedDate = "" }, "record.request.disclosure.received_date", ErrFormat},
		{"disclosure received_date invalid", dcl, func(r *akashiv1.Record) { requestOf(r).Disclosure.ReceivedDate = "2020-06-31" }, "record.request.disclosure.received_date", ErrOutOfRange},
		{"disclosure due_date invalid", dcl, func(r *akashiv1.Record) { requestOf(r).Disclosure.DueDate = "15 June" }, "record.request.disclosure.due_date", ErrFormat},
		{"disclosure due before received", dcl, func(r *akashiv1.Record) { requestOf(r).Disclosure.DueDate = "2020-05-31" }, "record.request.disclosure.due_date", ErrPeriodOrder},
		{"disclosure outcome undefined", dcl, func(r *akashiv1.Record) { requestOf(r).Disclosure.Outcome = 6 }, "record.request.disclosure.outcome", ErrUnknownCode},
		{"disclosure exemption too long", dcl, func(r *akashiv1.Record) { requestOf(r).Disclosure.Exemptions[0] = long(201) }, "record.request.disclosure.exemptions[0]", ErrOutOfRange},
		{"disclosure exemption empty", dcl, func(r *akashiv1.Record) { requestOf(r).Disclosure.Exemptions[0] = "" }, "record.request.disclosure.exemptions[0]", ErrFormat},
		{"disclosure exemptions too many", dcl, func(r *akashiv1.Record) {
			d := requestOf(r).Disclosure
			for len(d.Exemptions) < 51 {
				d.Exemptions = append(d.Exemptions, "第5条第1号")
			}
		}, "record.request.disclosure.exemptions", ErrOutOfRange},

		// Disbursement.
		{"programme missing", dis, func(r *akashiv1.Record) { disbursementOf(r).Programme = nil }, "record.disbursement.programme", ErrFormat},
		{"programme code empty", dis, func(r *akashiv1.Record) { disbursementOf(r).Programme.Code = "" }, "record.disbursement.programme.code", ErrFormat},
		{"programme code bad", dis, func(r *akashiv1.Record) { disbursementOf(r).Programme.Code = "TKY 2020" }, "record.disbursement.programme.code", ErrFormat},
		{"programme title too long", dis, func(r *akashiv1.Record) { disbursementOf(r).Programme.Title = long(301) }, "record.disbursement.programme.title", ErrOutOfRange},
		{"programme funding_source too long", dis, func(r *akashiv1.Record) { disbursementOf(r).Programme.FundingSource = long(301) }, "record.disbursement.programme.funding_source", ErrOutOfRange},
		{"award_id empty", dis, func(r *akashiv1.Record) { disbursementOf(r).AwardId = "" }, "record.disbursement.award_id", ErrFormat},
		{"award_id bad", dis, func(r *akashiv1.Record) { disbursementOf(r).AwardId = "#123" }, "record.disbursement.award_id", ErrFormat},
		{"transaction_type unspecified", dis, func(r *akashiv1.Record) {
			disbursementOf(r).TransactionType = 0
		}, "record.disbursement.transaction_type", ErrFormat},
		{"transaction_type undefined", dis, func(r *akashiv1.Record) {
			disbursementOf(r).TransactionType = 5
		}, "record.disbursement.transaction_type", ErrUnknownCode},
		{"amount missing", dis, func(r *akashiv1.Record) { disbursementOf(r).Amount = nil }, "record.disbursement.amount", ErrFormat},
		{"amount currency empty", dis, func(r *akashiv1.Record) { disbursementOf(r).Amount.Currency = "" }, "record.disbursement.amount.currency", ErrFormat},
		{"amount currency lower case", dis, func(r *akashiv1.Record) { disbursementOf(r).Amount.Currency = "jpy" }, "record.disbursement.amount.currency", ErrFormat},
		{"amount currency unknown", dis, func(r *akashiv1.Record) { disbursementOf(r).Amount.Currency = "JPN" }, "record.disbursement.amount.currency", ErrUnknownCode},
		{"amount currency gold", dis, func(r *akashiv1.Record) { disbursementOf(r).Amount.Currency = "XAU" }, "record.disbursement.amount.currency", ErrNoMinorUnit},
		{"amount negative", dis, func(r *akashiv1.Record) { disbursementOf(r).Amount.MinorUnits = -500000 }, "record.disbursement.amount.minor_units", ErrOutOfRange},
		{"amount negative refund", dis, func(r *akashiv1.Record) {
			d := disbursementOf(r)
			d.TransactionType = akashiv1.TransactionType_TRANSACTION_TYPE_REFUND
			d.Amount.MinorUnits = -1
		}, "record.disbursement.amount.minor_units", ErrOutOfRange},
		{"amount zero disbursement", dis, func(r *akashiv1.Record) { disbursementOf(r).Amount.MinorUnits = 0 }, "record.disbursement.amount.minor_units", ErrOutOfRange},
		{"amount zero commitment", dis, func(r *akashiv1.Record) {
			d := disbursementOf(r)
			d.TransactionType = akashiv1.TransactionType_TRANSACTION_TYPE_COMMITMENT
			d.Amount.MinorUnits = 0
		}, "record.disbursement.amount.minor_units", ErrOutOfRange},
		{"value_date empty", dis, func(r *akashiv1.Record) { disbursementOf(r).ValueDate = "" }, "record.disbursement.value_date", ErrFormat},
		{"value_date invalid", dis, func(r *akashiv1.Record) { disbursementOf(r).ValueDate = "2021-02-29" }, "record.disbursement.value_date", ErrOutOfRange},
		{"payer missing", dis, func(r *akashiv1.Record) { disbursementOf(r).Payer = nil }, "record.disbursement.payer", ErrFormat},
		{"payer id", dis, func(r *akashiv1.Record) { disbursementOf(r).Payer.Id = "JP-JCN-800002013000" }, "record.disbursement.payer.id", ErrFormat},
		{"payee missing", dis, func(r *akashiv1.Record) { disbursementOf(r).Payee = nil }, "record.disbursement.payee", ErrFormat},
		{"payee kind missing", dis, func(r *akashiv1.Record) { disbursementOf(r).Payee = &akashiv1.Payee{} }, "record.disbursement.payee.kind", ErrFormat},
		{"payee organization id", dis, func(r *akashiv1.Record) {
			disbursementOf(r).Payee = &akashiv1.Payee{Kind: &akashiv1.Payee_Organization{Organization: &akashiv1.Organization{Id: "JP-JCN-1180301018772"}}}
		}, "record.disbursement.payee.organization.id", ErrCheckDigit},
		{"payee individual id lower case", dis, func(r *akashiv1.Record) {
			in := disbursementOf(r).Payee.GetIndividual()
			in.Id = strings.ToLower(in.Id)
		}, "record.disbursement.payee.individual.id", ErrFormat},
		{"payee individual id empty", dis, func(r *akashiv1.Record) { disbursementOf(r).Payee.GetIndividual().Id = "" }, "record.disbursement.payee.individual.id", ErrFormat},
		{"payee individual commitment short", dis, func(r *akashiv1.Record) {
			in := disbursementOf(r).Payee.GetIndividual()
			in.Commitment = in.Commitment[:31]
		}, "record.disbursement.payee.individual.commitment", ErrFormat},
		{"payee individual commitment missing", dis, func(r *akashiv1.Record) { disbursementOf(r).Payee.GetIndividual().Commitment = nil }, "record.disbursement.payee.individual.commitment", ErrFormat},
		{"payee_area", dis, func(r *akashiv1.Record) { disbursementOf(r).PayeeArea = "131015" }, "record.disbursement.payee_area", ErrCheckDigit},
		{"period_covered reversed", dis, func(r *akashiv1.Record) { disbursementOf(r).PeriodCovered.EndDate = "2020-04-01" }, "record.disbursement.period_covered", ErrPeriodOrder},
		{"period_covered start missing", dis, func(r *akashiv1.Record) { disbursementOf(r).PeriodCovered.StartDate = "" }, "record.disbursement.period_covered.start_date", ErrFormat},
		{"related_request id", dis, func(r *akashiv1.Record) { disbursementOf(r).RelatedRequest.Id = "" }, "record.disbursement.related_request.id", ErrFormat},
		{"facility_count too large", dis, func(r *akashiv1.Record) { disbursementOf(r).FacilityCount = 100001 }, "record.disbursement.facility_count", ErrOutOfRange},
	}
}

func TestValidateRecordFixtures(t *testing.T) {
	for name, r := range map[string]*akashiv1.Record{
		"decision":     fixtureDecisionRecord(),
		"request":      fixtureRequestRecord(),
		"disclosure":   fixtureDisclosureRecord(),
		"disbursement": fixtureDisbursementRecord(),
	} {
		t.Run(name, func(t *testing.T) {
			if err := ValidateRecord(r); err != nil {
				t.Fatalf("ValidateRecord(valid %s) = %v, want nil", name, err)
			}
			// The fixture survives the wire.
			if _, err := DecodeStatement(mustMarshal(t, fixtureRecordStatement(r))); err != nil {
				t.Fatalf("DecodeStatement(valid %s) = %v", name, err)
			}
		})
	}
}

func TestValidateRecordRules(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range recordCases(t) {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			r := tc.base()
			tc.mutate(r)
			checkOne(t, ValidateRecord(r), tc.field, tc.is)
		})
	}
}

// TestValidateRecordAccepts covers values at the edges of the rules that
// must stay valid.
func TestValidateRecordAccepts(t *testing.T) {
	dec, req, dis, dcl := fixtureDecisionRecord, fixtureRequestRecord, fixtureDisbursementRecord, fixtureDisclosureRecord
	tests := []struct {
		name   string
		base   func() *akashiv1.Record
		mutate func(r *akashiv1.Record)
	}{
		{"minimal decision", dec, func(r *akashiv1.Record) {
			r.Jurisdiction, r.EffectiveDate, r.LegalBasis, r.Documents, r.License = "", "", nil, nil, ""
			r.Publisher.Name = ""
			d := decisionOf(r)
			d.Description, d.DecidedBy, d.Period, d.Areas = "", "", nil, nil
		}},
		{"correction", dec, correction},
		{"id of 128 characters", dec, func(r *akashiv1.Record) { r.Id = strings.Repeat("a", 128) }},
		{"id with all punctuation", dec, func(r *akashiv1.Record) { r.Id = "ocds-abc123:x_y.z-1" }},
		{"name of 200 characters", dec, func(r *akashiv1.Record) { r.Publisher.Name = strings.Repeat("都", 200) }},
		{"title of 300 characters", dec, func(r *akashiv1.Record) { decisionOf(r).Title = strings.Repeat("宣", 300) }},
		{"description with newlines and tabs", dec, func(r *akashiv1.Record) { decisionOf(r).Description = "a\n\tb\n" }},
		{"title with emoji and U+FFFD", dec, func(r *akashiv1.Record) { decisionOf(r).Title = "要請 👍 \uFFFD" }},
		{"open-ended period", dec, func(r *akashiv1.Record) { decisionOf(r).Period.EndDate = "" }},
		{"one-day period", dec, func(r *akashiv1.Record) { decisionOf(r).Period.EndDate = "2020-04-11" }},
		{"recorded_at UTC with fraction", dec, func(r *akashiv1.Record) { r.RecordedAt = "2020-04-10T09:30:00.123456789Z" }},
		{"recorded_at year 1900", dec, func(r *akashiv1.Record) { r.RecordedAt = "1900-01-01T00:00:00+09:00" }},
		{"http url", dec, func(r *akashiv1.Record) { r.Documents[0].Url = "http://example.jp/a?b=c#d" }},
		{"50 legal bases", dec, func(r *akashiv1.Record) {
			for len(r.LegalBasis) < 50 {
				r.LegalBasis = append(r.LegalBasis, &akashiv1.LegalBasis{LawId: "413AC0000000086"})
			}
		}},
		{"2000 areas", dec, func(r *akashiv1.Record) { decisionOf(r).Areas = lgCodes(t, 2000) }},
		{"related with publisher", dec, func(r *akashiv1.Record) {
			r.Related = []*akashiv1.RelatedRecord{{Relation: akashiv1.Relation_RELATION_BASED_ON, Record: &akashiv1.RecordRef{Publisher: fixtureTokyo, Id: "x"}}}
		}},
		{"licence with plus", dec, func(r *akashiv1.Record) { r.License = "GPL-2.0+" }},
		{"industry division letter", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0].GetClass().Industry = "M" }},
		{"industry 4 digits", req, func(r *akashiv1.Record) { requestOf(r).Addressees[0].GetClass().Industry = "7611" }},
		{"public to government without basis", req, func(r *akashiv1.Record) {
			q := requestOf(r)
			q.Direction = akashiv1.RequestDirection_REQUEST_DIRECTION_PUBLIC_TO_GOVERNMENT
			q.BasisDecision = nil
		}},
		{"no addressees", req, func(r *akashiv1.Record) { requestOf(r).Addressees = nil }},
		{"disclosure without due date or outcome", dcl, func(r *akashiv1.Record) {
			d := requestOf(r).Disclosure
			d.DueDate, d.Outcome, d.Exemptions = "", 0, nil
		}},
		{"disclosure due on received date", dcl, func(r *akashiv1.Record) { requestOf(r).Disclosure.DueDate = "2020-06-01" }},
		{"organisation payee", dis, func(r *akashiv1.Record) {
			disbursementOf(r).Payee = &akashiv1.Payee{Kind: &akashiv1.Payee_Organization{Organization: &akashiv1.Organization{Id: fixtureCompany, Name: "株式会社例"}}}
		}},
		{"zero refund", dis, func(r *akashiv1.Record) {
			d := disbursementOf(r)
			d.TransactionType = akashiv1.TransactionType_TRANSACTION_TYPE_REFUND
			d.Amount.MinorUnits = 0
		}},
		{"clawback", dis, func(r *akashiv1.Record) {
			disbursementOf(r).TransactionType = akashiv1.TransactionType_TRANSACTION_TYPE_CLAWBACK
		}},
		{"USD amount", dis, func(r *akashiv1.Record) { disbursementOf(r).Amount = &akashiv1.Money{MinorUnits: 1, Currency: "USD"} }},
		{"foreign org-id", dis, func(r *akashiv1.Record) { disbursementOf(r).Payer.Id = "GB-COH-01234567" }},
		{"100000 facilities", dis, func(r *akashiv1.Record) { disbursementOf(r).FacilityCount = 100000 }},
		{"minimal disbursement", dis, func(r *akashiv1.Record) {
			d := disbursementOf(r)
			d.PayeeArea, d.PeriodCovered, d.RelatedRequest, d.FacilityCount = "", nil, nil, 0
			d.Programme.Title, d.Programme.FundingSource = "", ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.base()
			tt.mutate(r)
			if err := ValidateRecord(r); err != nil {
				t.Errorf("ValidateRecord = %v, want nil", err)
			}
		})
	}
}

func TestValidateRecordNil(t *testing.T) {
	checkOne(t, ValidateRecord(nil), "record", ErrFormat)
}

func TestValidateRecordSeveral(t *testing.T) {
	r := fixtureDisbursementRecord()
	r.Id = ""
	r.Publisher.Id = "JP-JCN-8000020130002"
	r.LegalBasis[0].LawId = "x"
	d := disbursementOf(r)
	d.Amount.Currency = "XAU"
	d.Amount.MinorUnits = -1
	d.Payee.GetIndividual().Commitment = nil
	err := ValidateRecord(r)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("ValidateRecord = %v, want Errors", err)
	}
	want := []struct {
		field string
		is    error
	}{
		{"record.id", ErrFormat},
		{"record.publisher.id", ErrCheckDigit},
		{"record.legal_basis[0].law_id", ErrFormat},
		{"record.disbursement.amount.currency", ErrNoMinorUnit},
		{"record.disbursement.amount.minor_units", ErrOutOfRange},
		{"record.disbursement.payee.individual.commitment", ErrFormat},
	}
	if len(es) != len(want) {
		t.Fatalf("ValidateRecord = %d violations:\n%v\nwant %d", len(es), err, len(want))
	}
	for i, w := range want {
		if es[i].Field != w.field || !errors.Is(es[i], w.is) {
			t.Errorf("violation %d = %v, want at %s wrapping %v", i, es[i], w.field, w.is)
		}
	}
	for _, s := range []error{ErrFormat, ErrCheckDigit, ErrNoMinorUnit, ErrOutOfRange} {
		if !errors.Is(err, s) {
			t.Errorf("errors.Is(err, %v) = false", s)
		}
	}
}

// TestValidateNoEcho checks that messages cut long values and never show
// a commitment.
func TestValidateNoEcho(t *testing.T) {
	r := fixtureDisbursementRecord()
	r.Id = strings.Repeat("x", 1000) + " secret-tail"
	in := disbursementOf(r).Payee.GetIndividual()
	in.Commitment = append(in.Commitment, 0xAB)
	err := ValidateRecord(r)
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("ValidateRecord = %v, want 2 violations", err)
	}
	for _, fe := range es {
		checkBounded(t, fe)
	}
	msg := err.Error()
	if strings.Contains(msg, "secret-tail") {
		t.Errorf("message %q echoes the end of a 1012-byte id", msg)
	}
	for _, leak := range []string{
		hex.EncodeToString(fixtureCommitment[:8]),
		strings.ToUpper(hex.EncodeToString(fixtureCommitment[:8])),
		string(fixtureCommitment[:8]),
		fmt.Sprintf("%q", fixtureCommitment[:8])[1:20],
		fmt.Sprint(fixtureCommitment[:4]),
	} {
		if strings.Contains(msg, leak) {
			t.Errorf("message %q contains commitment bytes %q", msg, leak)
		}
	}
	if !strings.Contains(msg, "33 bytes") {
		t.Errorf("message %q does not give the commitment's length", msg)
	}

	r = fixtureDecisionRecord()
	r.Documents[0].Url = "https://user:hunter2@example.jp/a.pdf"
	if err := ValidateRecord(r); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("ValidateRecord(URL with password) = %v, want an error without the password", err)
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		r    *akashiv1.Record
		want Kind
		ok   bool
		name string
	}{
		{fixtureDecisionRecord(), KindDecision, true, "decision"},
		{fixtureRequestRecord(), KindRequest, true, "request"},
		{fixtureDisbursementRecord(), KindDisbursement, true, "disbursement"},
		{&akashiv1.Record{}, 0, false, "Kind(0)"},
		{nil, 0, false, "Kind(0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, ok := KindOf(tt.r)
			if k != tt.want || ok != tt.ok {
				t.Errorf("KindOf = %v, %v; want %v, %v", k, ok, tt.want, tt.ok)
			}
			if got := k.String(); got != tt.name {
				t.Errorf("Kind.String() = %q, want %q", got, tt.name)
			}
		})
	}
}

func TestValidateStatement(t *testing.T) {
	for name, st := range fixtureStatements() {
		t.Run("valid "+name, func(t *testing.T) {
			if err := ValidateStatement(st); err != nil {
				t.Errorf("ValidateStatement = %v, want nil", err)
			}
		})
	}
	prev := sha256.Sum256([]byte("previous"))
	tests := []struct {
		name   string
		mutate func(st *akashiv1.Statement)
		field  string
		is     error
	}{
		{"sequence 0", func(st *akashiv1.Statement) { st.Sequence = 0 }, "statement.sequence", ErrOutOfRange},
		{"previous on first", func(st *akashiv1.Statement) { st.Previous = prev[:] }, "statement.previous", ErrFormat},
		{"previous missing", func(st *akashiv1.Statement) { st.Sequence = 2 }, "statement.previous", ErrFormat},
		{"previous short", func(st *akashiv1.Statement) { st.Sequence = 2; st.Previous = prev[:31] }, "statement.previous", ErrFormat},
		{"body missing", func(st *akashiv1.Statement) { st.Body = nil }, "statement.body", ErrFormat},
		{"record rooted at record", func(st *akashiv1.Statement) { st.GetRecord().Id = "" }, "record.id", ErrFormat},
		{"governance rooted at governance", func(st *akashiv1.Statement) {
			st.Body = &akashiv1.Statement_Governance{Governance: &akashiv1.GovernanceAction{}}
		}, "governance.action", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := fixtureRecordStatement(fixtureDecisionRecord())
			tt.mutate(st)
			checkOne(t, ValidateStatement(st), tt.field, tt.is)
		})
	}
	t.Run("later statement", func(t *testing.T) {
		st := fixtureRecordStatement(fixtureDecisionRecord())
		st.Sequence, st.Previous = 7, prev[:]
		if err := ValidateStatement(st); err != nil {
			t.Errorf("ValidateStatement = %v, want nil", err)
		}
	})
	t.Run("nil", func(t *testing.T) { checkOne(t, ValidateStatement(nil), "statement", ErrFormat) })
}

func TestValidateGovernance(t *testing.T) {
	reg, rev, rot := fixtureRegisterKey, fixtureRevokeKey, fixtureRotateKey
	long := func(n int) string { return strings.Repeat("鍵", n) }
	tests := []struct {
		name   string
		base   func() *akashiv1.GovernanceAction
		mutate func(g *akashiv1.GovernanceAction)
		field  string
		is     error
	}{
		{"action missing", reg, func(g *akashiv1.GovernanceAction) { g.Action = nil }, "governance.action", ErrFormat},
		{"agency missing", reg, func(g *akashiv1.GovernanceAction) { g.GetRegisterKey().Agency = nil }, "governance.register_key.agency", ErrFormat},
		{"agency id", reg, func(g *akashiv1.GovernanceAction) { g.GetRegisterKey().Agency.Id = "JP-JCN-8000020130002" }, "governance.register_key.agency.id", ErrCheckDigit},
		{"agency name empty", reg, func(g *akashiv1.GovernanceAction) { g.GetRegisterKey().Agency.Name = "" }, "governance.register_key.agency.name", ErrFormat},
		{"agency name too long", reg, func(g *akashiv1.GovernanceAction) { g.GetRegisterKey().Agency.Name = long(201) }, "governance.register_key.agency.name", ErrOutOfRange},
		{"register public_key short", reg, func(g *akashiv1.GovernanceAction) { g.GetRegisterKey().PublicKey = make([]byte, 31) }, "governance.register_key.public_key", ErrFormat},
		{"register public_key missing", reg, func(g *akashiv1.GovernanceAction) { g.GetRegisterKey().PublicKey = nil }, "governance.register_key.public_key", ErrFormat},
		{"label too long", reg, func(g *akashiv1.GovernanceAction) { g.GetRegisterKey().Label = long(101) }, "governance.register_key.label", ErrOutOfRange},
		{"label control", reg, func(g *akashiv1.GovernanceAction) { g.GetRegisterKey().Label = "a\x7f" }, "governance.register_key.label", ErrFormat},
		{"revoke key_id upper case", rev, func(g *akashiv1.GovernanceAction) {
			g.GetRevokeKey().KeyId = strings.ToUpper(g.GetRevokeKey().KeyId)
		}, "governance.revoke_key.key_id", ErrFormat},
		{"revoke key_id empty", rev, func(g *akashiv1.GovernanceAction) { g.GetRevokeKey().KeyId = "" }, "governance.revoke_key.key_id", ErrFormat},
		{"revoke reason too long", rev, func(g *akashiv1.GovernanceAction) { g.GetRevokeKey().Reason = long(501) }, "governance.revoke_key.reason", ErrOutOfRange},
		{"rotate public_key long", rot, func(g *akashiv1.GovernanceAction) {
			g.GetRotateGovernanceKey().PublicKey = make([]byte, 33)
		}, "governance.rotate_governance_key.public_key", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.base()
			tt.mutate(g)
			checkOne(t, ValidateGovernance(g), tt.field, tt.is)
		})
	}
	t.Run("revoke without reason", func(t *testing.T) {
		g := rev()
		g.GetRevokeKey().Reason = ""
		if err := ValidateGovernance(g); err != nil {
			t.Errorf("ValidateGovernance = %v, want nil", err)
		}
	})
	t.Run("nil", func(t *testing.T) { checkOne(t, ValidateGovernance(nil), "governance", ErrFormat) })
}

func TestValidateSignedStatement(t *testing.T) {
	seed := sha256.Sum256([]byte("akashi test key"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	valid := func() *akashiv1.SignedStatement {
		ss, err := Sign(priv, "akashi.example/log", fixtureRecordStatement(fixtureDecisionRecord()))
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	if err := ValidateSignedStatement(valid()); err != nil {
		t.Fatalf("ValidateSignedStatement(valid) = %v", err)
	}
	tests := []struct {
		name   string
		mutate func(ss *akashiv1.SignedStatement)
		field  string
		is     error
	}{
		{"statement empty", func(ss *akashiv1.SignedStatement) { ss.Statement = nil }, "signed_statement.statement", ErrFormat},
		{"statement too large", func(ss *akashiv1.SignedStatement) { ss.Statement = make([]byte, MaxStatementSize+1) }, "signed_statement.statement", ErrOutOfRange},
		{"key_id short", func(ss *akashiv1.SignedStatement) { ss.KeyId = ss.KeyId[:15] }, "signed_statement.key_id", ErrFormat},
		{"signature short", func(ss *akashiv1.SignedStatement) { ss.Signature = ss.Signature[:63] }, "signed_statement.signature", ErrFormat},
		{"signature missing", func(ss *akashiv1.SignedStatement) { ss.Signature = nil }, "signed_statement.signature", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := valid()
			tt.mutate(ss)
			checkOne(t, ValidateSignedStatement(ss), tt.field, tt.is)
		})
	}
	t.Run("statement of MaxStatementSize", func(t *testing.T) {
		ss := valid()
		ss.Statement = make([]byte, MaxStatementSize)
		if err := ValidateSignedStatement(ss); err != nil {
			t.Errorf("ValidateSignedStatement = %v, want nil", err)
		}
	})
	t.Run("nil", func(t *testing.T) { checkOne(t, ValidateSignedStatement(nil), "signed_statement", ErrFormat) })
}

// TestValidateGolden pins the wording of error messages: run
// go test -run TestValidateGolden -update ./record/ after changing one,
// and review the diff of testdata/validate_errors.golden.
func TestValidateGolden(t *testing.T) {
	type golden struct {
		name string
		err  error
	}
	var cases []golden
	for _, tc := range recordCases(t) {
		r := tc.base()
		tc.mutate(r)
		cases = append(cases, golden{"record/" + tc.name, ValidateRecord(r)})
	}
	several := fixtureRequestRecord()
	several.Tag = akashiv1.Tag_TAG_AMENDMENT
	several.RecordedAt = "yesterday"
	q := requestOf(several)
	q.Title = ""
	q.Addressees = append(q.Addressees, &akashiv1.Addressee{})
	q.Addressees[0].GetClass().Areas = []string{"999999"}
	q.Disclosure = &akashiv1.DisclosureDetails{}
	cases = append(cases,
		golden{"record/several", ValidateRecord(several)},
		golden{"statement/empty", ValidateStatement(&akashiv1.Statement{})},
		golden{"governance/empty register_key", ValidateGovernance(&akashiv1.GovernanceAction{
			Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{}}})},
		golden{"signed_statement/empty", ValidateSignedStatement(&akashiv1.SignedStatement{})},
	)
	unknown := fixtureRecordStatement(fixtureRequestRecord())
	cls := requestOf(unknown.GetRecord()).Addressees[0].GetClass()
	cls.ProtoReflect().SetUnknown(appendUnknownVarint(nil, 99, 1))
	_, err := DecodeStatement(mustMarshal(t, unknown))
	cases = append(cases,
		golden{"decode/unknown field", err},
		golden{"decode/too large", func() error { _, err := DecodeStatement(make([]byte, MaxStatementSize+1)); return err }()},
	)

	var b strings.Builder
	b.WriteString("# Error messages of record validation; regenerate with go test -run TestValidateGolden -update ./record/\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "\n## %s\n", c.name)
		var es Errors
		var fe *FieldError
		switch {
		case c.err == nil:
			b.WriteString("(valid)\n")
		case errors.As(c.err, &es):
			for _, e := range es {
				b.WriteString(e.Error() + "\n")
			}
		case errors.As(c.err, &fe):
			b.WriteString(fe.Error() + "\n")
		default:
			b.WriteString(c.err.Error() + "\n")
		}
	}
	got := []byte(b.String())
	path := filepath.Join("testdata", "validate_errors.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the messages produced, first at line %d:\ngot:  %s\nwant: %s\n(run with -update and review the diff)", path, i+1, g, w)
			}
		}
	}
}
