// SPDX-License-Identifier: Apache-2.0

package client

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// Envelope is what every record says besides its body: who publishes it,
// when, which version of which process it is, and on what basis.
type Envelope struct {
	// ID is the record's publisher-unique id (required).
	ID string
	// ProcessID groups the versions of one thing; ID when empty.
	ProcessID string
	// Tag is the kind of version; TAG_NEW when unspecified.
	Tag akashiv1.Tag
	// Amends and Rationale are required unless Tag is TAG_NEW.
	Amends    string
	Rationale string
	// Publisher is the agency (required).
	Publisher *akashiv1.Organization
	// Jurisdiction is a 6-digit local government code, or empty.
	Jurisdiction string
	// RecordedAt is when the agency recorded it (required); it is written
	// as RFC 3339 in its own time zone.
	RecordedAt time.Time
	// EffectiveDate is YYYY-MM-DD, or empty.
	EffectiveDate string
	LegalBasis    []*akashiv1.LegalBasis
	Documents     []*akashiv1.Document
	Related       []*akashiv1.RelatedRecord
	// License is an SPDX id; CC-BY-4.0 when empty.
	License string
}

func (e Envelope) record() *akashiv1.Record {
	r := &akashiv1.Record{
		Id: e.ID, ProcessId: e.ProcessID, Tag: e.Tag, Amends: e.Amends, Rationale: e.Rationale,
		Publisher: e.Publisher, Jurisdiction: e.Jurisdiction, EffectiveDate: e.EffectiveDate,
		LegalBasis: e.LegalBasis, Documents: e.Documents, Related: e.Related, License: e.License,
	}
	if r.ProcessId == "" {
		r.ProcessId = r.Id
	}
	if r.Tag == akashiv1.Tag_TAG_UNSPECIFIED {
		r.Tag = akashiv1.Tag_TAG_NEW
	}
	if !e.RecordedAt.IsZero() {
		r.RecordedAt = e.RecordedAt.Format(time.RFC3339Nano)
	}
	return r
}

// NewDecision returns a record of a decision, validated as the server
// validates it ([record.ValidateRecord]).
func NewDecision(e Envelope, d *akashiv1.Decision) (*akashiv1.Record, error) {
	r := e.record()
	r.Body = &akashiv1.Record_Decision{Decision: d}
	return r, record.ValidateRecord(r)
}

// NewRequest returns a record of a request, validated.
func NewRequest(e Envelope, q *akashiv1.Request) (*akashiv1.Record, error) {
	r := e.record()
	r.Body = &akashiv1.Record_Request{Request: q}
	return r, record.ValidateRecord(r)
}

// NewDisbursement returns a record of a disbursement, validated.
func NewDisbursement(e Envelope, d *akashiv1.Disbursement) (*akashiv1.Record, error) {
	r := e.record()
	r.Body = &akashiv1.Record_Disbursement{Disbursement: d}
	return r, record.ValidateRecord(r)
}

// Amend returns a new version of prev: a copy with the new id, tag and
// rationale, amending prev in the same process, recorded at recordedAt,
// changed by change (which may be nil), and validated. Tag must not be
// TAG_NEW.
func Amend(prev *akashiv1.Record, id string, tag akashiv1.Tag, rationale string, recordedAt time.Time, change func(*akashiv1.Record)) (*akashiv1.Record, error) {
	if tag == akashiv1.Tag_TAG_NEW {
		return nil, record.At("record.tag", &record.FieldError{Got: "TAG_NEW", Want: "the tag of a change (TAG_UPDATE, TAG_AMENDMENT, TAG_CORRECTION, TAG_WITHDRAWAL)", Err: record.ErrFormat})
	}
	r := proto.Clone(prev).(*akashiv1.Record)
	r.Id, r.Tag, r.Amends, r.Rationale = id, tag, prev.GetId(), rationale
	r.RecordedAt = recordedAt.Format(time.RFC3339Nano)
	if change != nil {
		change(r)
	}
	return r, record.ValidateRecord(r)
}

// Org returns an organisation with an org-id identifier and a name.
func Org(id, name string) *akashiv1.Organization { return &akashiv1.Organization{Id: id, Name: name} }

// Yen returns an amount in Japanese yen.
func Yen(n int64) *akashiv1.Money { return &akashiv1.Money{MinorUnits: n, Currency: "JPY"} }

// Money returns an amount in minor units of an ISO 4217 currency.
func Money(minorUnits int64, currency string) *akashiv1.Money {
	return &akashiv1.Money{MinorUnits: minorUnits, Currency: currency}
}

// Ref returns a reference to a record; publisher may be empty for the
// referring record's own publisher.
func Ref(publisher, id string) *akashiv1.RecordRef {
	return &akashiv1.RecordRef{Publisher: publisher, Id: id}
}

// PayeeOrg returns a payee that is an organisation.
func PayeeOrg(id, name string) *akashiv1.Payee {
	return &akashiv1.Payee{Kind: &akashiv1.Payee_Organization{Organization: Org(id, name)}}
}

// Personal is a natural-person payee as the log sees it, and the secret
// that ties it to the person: the salt, which the agency keeps off the
// log with the person's data.
type Personal struct {
	// ID is the opaque payee id ("P-" and 26 base32 characters).
	ID string
	// Commitment is SHA-256(Salt ‖ canonical personal data).
	Commitment [record.CommitmentSize]byte
	// Salt is 32 random bytes. Keep it secret, with the personal data:
	// with both, the agency can later prove who was paid.
	Salt [record.SaltSize]byte
}

// NewPersonal makes the opaque id and salted commitment of a person from
// their data fields (keys [a-z][a-z0-9_]*, values in the exact form the
// agency will reproduce later, see [record.CanonicalPersonalData]). The
// personal data never leaves the caller: only ID and Commitment go into
// the record.
func NewPersonal(fields map[string]string) (*Personal, error) {
	canonical, err := record.CanonicalPersonalData(fields)
	if err != nil {
		return nil, fmt.Errorf("personal data: %w", err)
	}
	p := &Personal{ID: record.NewPayeeID(), Salt: record.NewSalt()}
	p.Commitment = record.Commit(p.Salt, canonical)
	return p, nil
}

// RestorePersonal rebuilds a person's payee from the id and salt the agency
// kept, and their data: the same id and commitment as when it was made.
func RestorePersonal(id string, salt [record.SaltSize]byte, fields map[string]string) (*Personal, error) {
	if err := record.ValidatePayeeID(id); err != nil {
		return nil, fmt.Errorf("payee id: %w", err)
	}
	canonical, err := record.CanonicalPersonalData(fields)
	if err != nil {
		return nil, fmt.Errorf("personal data: %w", err)
	}
	return &Personal{ID: id, Salt: salt, Commitment: record.Commit(salt, canonical)}, nil
}

// Payee returns the record's payee: the opaque id and the commitment.
func (p *Personal) Payee() *akashiv1.Payee {
	return &akashiv1.Payee{Kind: &akashiv1.Payee_Individual{Individual: &akashiv1.PersonalPayee{
		Id: p.ID, Commitment: append([]byte(nil), p.Commitment[:]...),
	}}}
}

// Matches reports whether fields are the personal data p commits to.
func (p *Personal) Matches(fields map[string]string) bool {
	canonical, err := record.CanonicalPersonalData(fields)
	return err == nil && record.VerifyCommitment(p.Salt, canonical, p.Commitment)
}
