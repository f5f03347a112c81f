// SPDX-License-Identifier: Apache-2.0

// Package demo generates a realistic, reproducible demo dataset for an
// Akashi log: Japan's first COVID-19 state of emergency (April–May 2020),
// the requests prefectures issued under it, and the cooperation allowances
// Tokyo and Osaka paid to businesses that complied.
//
// # What is generated
//
// [Generate] returns a [Dataset] of signed statements ready to append:
//
//   - Governance: one RegisterKey statement per agency key, signed by
//     [Options].Governance (when set), sequence 1, 2, ….
//   - Records, each signed by its agency's key, with each key's own
//     sequence starting at 1 and previous = [record.StatementHash] of that
//     key's previous statement. Records are in recorded_at order, so every
//     record comes after the records it cites (basis_decision,
//     related_request, amends, related).
//
// The records follow the public facts (DOMAIN.md):
//
//   - 新型コロナウイルス感染症対策本部 declares the state of emergency on
//     2020-04-07 under Article 32 of the Act on Special Measures (law id
//     424AC0000000031) for 7 prefectures, then updates it three times
//     (TAG_UPDATE): all prefectures (04-16), extension to 05-31 (05-04),
//     lifted (05-25).
//   - Tokyo (JP-JCN-8000020130001, two keys: 総務局 and 産業労働局)
//     creates the 感染拡大防止協力金 programme (a SUBSIDY_PROGRAMME
//     decision; ¥500,000 for one shop, ¥1,000,000 for two or more;
//     applications from 2020-04-22), requests restaurants (JSIC 76) in the
//     23 special wards to open 5:00–20:00 and serve alcohol until 19:00
//     (Article 24(9)), amends the request to extend it to 05-31
//     (TAG_AMENDMENT), and pays [Options].Disbursements allowances between
//     2020-05-07 and 2020-06-30, with one TAG_CORRECTION, a few refunds and
//     a few clawbacks.
//   - Osaka Prefecture (its local-government corporate number from code
//     270008) issues its own request, links it to its 休業要請支援金
//     programme with a TAG_UPDATE, and pays a handful of allowances.
//
// # Synthetic data and privacy
//
// Payees are fictional. Organisations get synthetic corporate numbers
// with valid check digits from the block whose registry-office part is
// "9999" (not a registry-office code in use, as far as we know), so that
// no real corporation is named as a recipient; their names are made up from word lists. The national
// headquarters' corporate number is synthetic too. About one payee in ten
// is a sole proprietor, recorded only as an opaque payee id and the
// commitment SHA-256(salt ‖ canonical personal data) of a synthetic name
// and address ([record.Commit]); no name or address enters any record.
//
// Document digests are SHA-256 of a placeholder text, not of the real
// documents at the URLs.
//
// # Determinism
//
// The dataset is a pure function of [Options]: keys, payee ids, salts and
// every other random choice come from math/rand/v2's PCG seeded with
// [Options].Seed, and statements are serialized deterministically, so two
// runs give byte-identical statements. Agency keys come from their own
// stream and do not depend on Options.Disbursements.
//
// Because they are derived from a public seed, the demo's signing keys and
// commitment salts are NOT secret: anyone can regenerate them. A real
// agency draws salts with [record.NewSalt] and keys from crypto/rand, and
// keeps both to itself.
package demo

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// Limits of [Options].Disbursements.
const (
	// DefaultDisbursements is the number of Tokyo allowance payments
	// generated when Options.Disbursements is 0.
	DefaultDisbursements = 3000
	// MinDisbursements is the fewest payments that leave room for the
	// correction, refunds and clawbacks.
	MinDisbursements = 10
	// MaxDisbursements is the most payments Generate makes.
	MaxDisbursements = 100_000
)

// ErrOptions reports invalid [Options].
var ErrOptions = errors.New("demo: invalid options")

// Options configure [Generate].
type Options struct {
	// Origin is the log's checkpoint origin; every signature is bound to
	// it. Required.
	Origin string
	// Seed selects the dataset; equal options give byte-identical
	// datasets.
	Seed uint64
	// Disbursements is the number of Tokyo allowance payments
	// (TRANSACTION_TYPE_DISBURSEMENT records before corrections),
	// DefaultDisbursements when 0, otherwise MinDisbursements to
	// MaxDisbursements.
	Disbursements int
	// Governance, when set, signs a RegisterKey statement for every
	// agency key (Dataset.Governance).
	Governance ed25519.PrivateKey
}

// Agency is a demo agency with its signing key. An organisation that
// writes with several keys (Tokyo) appears once per key.
type Agency struct {
	// Org is the publisher of the agency's records.
	Org *akashiv1.Organization
	// Jurisdiction is the local government code of the agency's area,
	// empty for national bodies.
	Jurisdiction string
	// Key signs the agency's statements. Derived from the seed: not
	// secret.
	Key ed25519.PrivateKey
	// Label names the key, e.g. the office that holds it.
	Label string
}

// Dataset is the generated demo data.
type Dataset struct {
	// Agencies are the agency keys, in the order of Governance.
	Agencies []Agency
	// Governance holds the RegisterKey statements, signed by
	// Options.Governance, one for every agency key in order; empty when
	// Options.Governance is nil.
	Governance []*akashiv1.SignedStatement
	// Records holds every record, signed by its agency's key, in an order
	// where each record comes after the records it cites.
	Records []*akashiv1.SignedStatement
}

// Generate returns the demo dataset for o.
func Generate(o Options) (*Dataset, error) {
	d, _, err := generate(o)
	return d, err
}

// Random streams, so that keys do not depend on how much data is drawn.
const (
	streamKeys = 0x616b617368692d6b // "akashi-k"
	streamData = 0x616b617368692d64 // "akashi-d"
)

// Fixed facts.
const (
	license = "CC-BY-4.0"

	tokyoCode       = "130001"
	tokyoCorpNumber = "8000020130001"
	osakaCode       = "270008"

	// hqCorpBase is the base of the headquarters' corporate number. It is
	// SYNTHETIC (block 9999, like the payees'), not the Cabinet
	// Secretariat's real number.
	hqCorpBase = "999900000001"
	// syntheticCorpPrefix starts the base of every synthetic payee's
	// corporate number.
	syntheticCorpPrefix = "9999"

	lawTokusoho      = "424AC0000000031"
	lawTokusohoTitle = "新型インフルエンザ等対策特別措置法 (Act on Special Measures for Pandemic Influenza and New Infectious Diseases Preparedness and Response)"
	lawChihoJichi    = "322AC0000000067"
	lawChihoTitle    = "地方自治法 (Local Autonomy Act)"

	jsicRestaurants   = "76"
	jsicEntertainment = "80"

	hqDeclProcess      = "covid-hq-2020-emergency"
	tokyoKRKProcess    = "tokyo-2020-kyoryokukin"
	tokyoReqProcess    = "tokyo-2020-restaurant-hours"
	osakaReqProcess    = "osaka-2020-shisetsu-shiyo-seigen"
	osakaShienProcess  = "osaka-2020-kyugyo-shienkin"
	tokyoProgrammeCode = "TKY-2020-KYORYOKUKIN-1"
	osakaProgrammeCode = "OSK-2020-KYUGYO-SHIENKIN-1"

	osakaDisbursements = 8
)

// Indexes of the agency keys in Dataset.Agencies.
const (
	keyHQ = iota
	keySomu
	keySangyo
	keyOsaka
	numKeys
)

var jst = time.FixedZone("JST", 9*60*60)

// item is a record waiting to be signed by key at its recorded time.
type item struct {
	at  time.Time
	key int
	rec *akashiv1.Record
}

// person is what the agency keeps off the log about a personal payee.
type person struct {
	payeeID   string
	salt      [record.SaltSize]byte
	canonical []byte
	name      string
	address   string
}

// gen holds the generator's state.
type gen struct {
	o        Options
	r        *rand.Rand
	agencies []Agency
	items    []item
	people   []person
	corpUsed map[string]bool
}

func generate(o Options) (*Dataset, []person, error) {
	switch {
	case o.Origin == "":
		return nil, nil, fmt.Errorf("%w: Origin is empty", ErrOptions)
	case o.Disbursements == 0:
		o.Disbursements = DefaultDisbursements
	case o.Disbursements < MinDisbursements || o.Disbursements > MaxDisbursements:
		return nil, nil, fmt.Errorf("%w: Disbursements: got %d, want 0 or %d..%d", ErrOptions, o.Disbursements, MinDisbursements, MaxDisbursements)
	}
	if o.Governance != nil && len(o.Governance) != ed25519.PrivateKeySize {
		return nil, nil, fmt.Errorf("%w: Governance: got a %d-byte key, want %d", ErrOptions, len(o.Governance), ed25519.PrivateKeySize)
	}
	g := &gen{
		o:        o,
		r:        rand.New(rand.NewPCG(o.Seed, streamData)),
		corpUsed: map[string]bool{},
	}
	if err := g.makeAgencies(); err != nil {
		return nil, nil, err
	}
	if err := g.national(); err != nil {
		return nil, nil, err
	}
	if err := g.tokyo(); err != nil {
		return nil, nil, err
	}
	if err := g.osaka(); err != nil {
		return nil, nil, err
	}
	d := &Dataset{Agencies: g.agencies}
	var err error
	if d.Governance, err = g.signGovernance(); err != nil {
		return nil, nil, err
	}
	if d.Records, err = g.signRecords(); err != nil {
		return nil, nil, err
	}
	return d, g.people, nil
}

// makeAgencies derives the agency keys from the key stream.
func (g *gen) makeAgencies() error {
	hqCN, err := record.CorporateNumberFromBase(hqCorpBase)
	if err != nil {
		return err
	}
	osakaCN, err := record.LocalGovernmentCorporateNumber(osakaCode)
	if err != nil {
		return err
	}
	kr := rand.New(rand.NewPCG(g.o.Seed, streamKeys))
	key := func() ed25519.PrivateKey {
		var seed [ed25519.SeedSize]byte
		fill(kr, seed[:])
		return ed25519.NewKeyFromSeed(seed[:])
	}
	hq := func() *akashiv1.Organization {
		return &akashiv1.Organization{Id: "JP-JCN-" + hqCN, Name: "新型コロナウイルス感染症対策本部"}
	}
	g.agencies = []Agency{
		keyHQ:     {Org: hq(), Key: key(), Label: "内閣官房 新型コロナウイルス感染症対策推進室"},
		keySomu:   {Org: tokyoOrg(), Jurisdiction: tokyoCode, Key: key(), Label: "東京都 総務局"},
		keySangyo: {Org: tokyoOrg(), Jurisdiction: tokyoCode, Key: key(), Label: "東京都 産業労働局"},
		keyOsaka:  {Org: &akashiv1.Organization{Id: "JP-JCN-" + osakaCN, Name: "大阪府"}, Jurisdiction: osakaCode, Key: key(), Label: "大阪府 危機管理室"},
	}
	return nil
}

func tokyoOrg() *akashiv1.Organization {
	return &akashiv1.Organization{Id: "JP-JCN-" + tokyoCorpNumber, Name: "東京都"}
}

// org returns a fresh copy of key k's organisation.
func (g *gen) org(k int) *akashiv1.Organization {
	o := g.agencies[k].Org
	return &akashiv1.Organization{Id: o.Id, Name: o.Name}
}

// add queues a record for key k, filling in the envelope fields every
// record shares.
func (g *gen) add(k int, at time.Time, r *akashiv1.Record) {
	r.Publisher = g.org(k)
	r.Jurisdiction = g.agencies[k].Jurisdiction
	r.RecordedAt = at.Format(time.RFC3339)
	r.License = license
	g.items = append(g.items, item{at: at, key: k, rec: r})
}

// signRecords orders the records by recorded time (stable, so records
// recorded at the same instant keep the order they were made in) and signs
// them, chaining each key's statements.
func (g *gen) signRecords() ([]*akashiv1.SignedStatement, error) {
	slices.SortStableFunc(g.items, func(a, b item) int { return a.at.Compare(b.at) })
	chains := make([]chain, numKeys)
	out := make([]*akashiv1.SignedStatement, 0, len(g.items))
	for _, it := range g.items {
		ss, err := chains[it.key].sign(g.agencies[it.key].Key, g.o.Origin,
			&akashiv1.Statement{Body: &akashiv1.Statement_Record{Record: it.rec}})
		if err != nil {
			return nil, fmt.Errorf("demo: signing record %s: %w", it.rec.Id, err)
		}
		out = append(out, ss)
	}
	return out, nil
}

// signGovernance registers every agency key.
func (g *gen) signGovernance() ([]*akashiv1.SignedStatement, error) {
	if g.o.Governance == nil {
		return nil, nil
	}
	var c chain
	out := make([]*akashiv1.SignedStatement, 0, len(g.agencies))
	for _, a := range g.agencies {
		st := &akashiv1.Statement{Body: &akashiv1.Statement_Governance{Governance: &akashiv1.GovernanceAction{
			Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{
				Agency:    &akashiv1.Organization{Id: a.Org.Id, Name: a.Org.Name},
				PublicKey: a.Key.Public().(ed25519.PublicKey),
				Label:     a.Label,
			}},
		}}}
		ss, err := c.sign(g.o.Governance, g.o.Origin, st)
		if err != nil {
			return nil, fmt.Errorf("demo: signing governance statement: %w", err)
		}
		out = append(out, ss)
	}
	return out, nil
}

// chain is one signer's sequence state.
type chain struct {
	seq  uint64
	prev []byte
}

// sign sets st's sequence and previous hash, signs it and advances the
// chain.
func (c *chain) sign(key ed25519.PrivateKey, origin string, st *akashiv1.Statement) (*akashiv1.SignedStatement, error) {
	c.seq++
	st.Sequence = c.seq
	st.Previous = c.prev
	ss, err := record.Sign(key, origin, st)
	if err != nil {
		return nil, err
	}
	h := record.StatementHash(ss.Statement)
	c.prev = h[:]
	return ss, nil
}

// ---- Shared helpers ----

// fill fills b from r.
func fill(r *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

// at returns a time in Japan.
func at(year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, jst)
}

func date(t time.Time) string { return t.Format(time.DateOnly) }

func period(start, end string) *akashiv1.Period {
	return &akashiv1.Period{StartDate: start, EndDate: end}
}

func ref(publisher *akashiv1.Organization, id string) *akashiv1.RecordRef {
	return &akashiv1.RecordRef{Publisher: publisher.Id, Id: id}
}

func related(rel akashiv1.Relation, r *akashiv1.RecordRef) *akashiv1.RelatedRecord {
	return &akashiv1.RelatedRecord{Relation: rel, Record: r}
}

// doc returns a document whose digest is SHA-256 of a placeholder text
// naming its URL (the demo does not fetch documents).
func doc(url, title string) *akashiv1.Document {
	h := sha256.Sum256([]byte("akashi demo document\n" + url))
	return &akashiv1.Document{Url: url, Sha256: hex.EncodeToString(h[:]), Title: title}
}

func tokusoho(article string) *akashiv1.LegalBasis {
	return &akashiv1.LegalBasis{LawId: lawTokusoho, Article: article, Title: lawTokusohoTitle}
}

func chihoJichi() *akashiv1.LegalBasis {
	return &akashiv1.LegalBasis{LawId: lawChihoJichi, Article: "232-2", Title: lawChihoTitle}
}

func jpy(n int64) *akashiv1.Money { return &akashiv1.Money{MinorUnits: n, Currency: "JPY"} }

// holidays2020 are the national holidays of 2020 after Golden Week on
// which no payment is made.
var holidays2020 = map[string]bool{
	"2020-07-23": true, "2020-07-24": true, "2020-08-10": true,
	"2020-09-21": true, "2020-09-22": true,
}

func isBusinessDay(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !holidays2020[date(t)]
}

// businessDays returns the business days from first to last, inclusive.
func businessDays(first, last time.Time) []time.Time {
	var out []time.Time
	for t := first; !t.After(last); t = t.AddDate(0, 0, 1) {
		if isBusinessDay(t) {
			out = append(out, t)
		}
	}
	return out
}

// nextBusinessDay returns the first business day at or after t.
func nextBusinessDay(t time.Time) time.Time {
	for !isBusinessDay(t) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// pick returns a uniformly chosen element of s.
func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

var payeeIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// payeeID returns a payee id in the form of record.NewPayeeID, drawn from
// the seeded stream.
func (g *gen) payeeID() string {
	var b [16]byte
	fill(g.r, b[:])
	return record.PayeeIDPrefix + payeeIDEncoding.EncodeToString(b[:])
}

// syntheticCorporateNumber returns an unused corporate number from the
// synthetic block "9999…".
func (g *gen) syntheticCorporateNumber() (string, error) {
	for {
		base := fmt.Sprintf("%s%08d", syntheticCorpPrefix, g.r.IntN(100_000_000))
		if g.corpUsed[base] {
			continue
		}
		g.corpUsed[base] = true
		return record.CorporateNumberFromBase(base)
	}
}

// individual makes a synthetic sole proprietor living in one of areas and
// returns the payee that stands for them.
func (g *gen) individual(prefecture string, wards []string) (*akashiv1.Payee, error) {
	name := pick(g.r, familyNames) + " " + pick(g.r, givenNames)
	address := fmt.Sprintf("%s%s%s%d-%d-%d", prefecture, pick(g.r, wards), pick(g.r, townNames),
		1+g.r.IntN(5), 1+g.r.IntN(30), 1+g.r.IntN(20))
	canonical, err := record.CanonicalPersonalData(map[string]string{"name": name, "address": address})
	if err != nil {
		return nil, err
	}
	p := person{payeeID: g.payeeID(), canonical: canonical, name: name, address: address}
	fill(g.r, p.salt[:]) // seeded, so NOT secret: demo only
	g.people = append(g.people, p)
	c := record.Commit(p.salt, canonical)
	return &akashiv1.Payee{Kind: &akashiv1.Payee_Individual{Individual: &akashiv1.PersonalPayee{
		Id: p.payeeID, Commitment: c[:],
	}}}, nil
}

// company makes a synthetic company payee.
func (g *gen) company() (*akashiv1.Payee, error) {
	cn, err := g.syntheticCorporateNumber()
	if err != nil {
		return nil, err
	}
	name := pick(g.r, companyForms) + pick(g.r, companyStems) + pick(g.r, companyKinds)
	return &akashiv1.Payee{Kind: &akashiv1.Payee_Organization{Organization: &akashiv1.Organization{
		Id: "JP-JCN-" + cn, Name: name,
	}}}, nil
}
