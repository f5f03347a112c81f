// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

const testOrigin = "demo.akashi.example/log"

func testGovernanceKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

// testData returns the default dataset (seed 42, 3,000 payments),
// generated once: it is the slowest part of the tests.
func testData(t *testing.T) (*Dataset, []person) {
	t.Helper()
	defaultOnce.Do(func() {
		defaultSet, defaultPeople, defaultErr = generate(Options{Origin: testOrigin, Seed: 42, Governance: testGovernanceKey()})
	})
	if defaultErr != nil {
		t.Fatalf("generate: %v", defaultErr)
	}
	return defaultSet, defaultPeople
}

var (
	defaultOnce   sync.Once
	defaultSet    *Dataset
	defaultPeople []person
	defaultErr    error
)

func allStatements(d *Dataset) []*akashiv1.SignedStatement {
	return append(append([]*akashiv1.SignedStatement(nil), d.Governance...), d.Records...)
}

func decode(t *testing.T, ss *akashiv1.SignedStatement) *akashiv1.Statement {
	t.Helper()
	st := &akashiv1.Statement{}
	if err := proto.Unmarshal(ss.GetStatement(), st); err != nil {
		t.Fatalf("decoding statement: %v", err)
	}
	return st
}

func TestDeterministic(t *testing.T) {
	o := Options{Origin: testOrigin, Seed: 7, Disbursements: 500, Governance: testGovernanceKey()}
	a, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	as, bs := allStatements(a), allStatements(b)
	if len(as) != len(bs) {
		t.Fatalf("runs gave %d and %d statements", len(as), len(bs))
	}
	for i := range as {
		x, _ := proto.MarshalOptions{Deterministic: true}.Marshal(as[i])
		y, _ := proto.MarshalOptions{Deterministic: true}.Marshal(bs[i])
		if !bytes.Equal(x, y) {
			t.Fatalf("statement %d differs between runs", i)
		}
	}
	for i := range a.Agencies {
		if !a.Agencies[i].Key.Equal(b.Agencies[i].Key) {
			t.Errorf("agency %d key differs between runs", i)
		}
	}

	// Another seed gives other data, but the same agency keys do not
	// depend on the number of disbursements.
	o2 := o
	o2.Seed = 8
	c, err := Generate(o2)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Records[len(a.Records)-1].Statement, c.Records[len(c.Records)-1].Statement) {
		t.Errorf("seeds 7 and 8 gave the same last statement")
	}
	o3 := o
	o3.Disbursements = 50
	e, err := Generate(o3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Agencies {
		if !a.Agencies[i].Key.Equal(e.Agencies[i].Key) {
			t.Errorf("agency %d key depends on Options.Disbursements", i)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{Origin: testOrigin, Disbursements: MinDisbursements - 1},
		{Origin: testOrigin, Disbursements: MaxDisbursements + 1},
		{Origin: testOrigin, Disbursements: -1},
		{Origin: testOrigin, Governance: make(ed25519.PrivateKey, 10)},
	} {
		if _, err := Generate(o); !errors.Is(err, ErrOptions) {
			t.Errorf("Generate(%+v) = %v, want ErrOptions", o, err)
		}
	}
	d, err := Generate(Options{Origin: testOrigin, Disbursements: MinDisbursements})
	if err != nil {
		t.Fatalf("Generate(min) = %v", err)
	}
	if len(d.Governance) != 0 {
		t.Errorf("without a governance key got %d governance statements, want 0", len(d.Governance))
	}
}

func TestStatements(t *testing.T) {
	d, _ := testData(t)
	keys := map[string]ed25519.PublicKey{}
	for _, a := range d.Agencies {
		pub := a.Key.Public().(ed25519.PublicKey)
		keys[record.KeyID(pub)] = pub
	}
	if len(keys) != 4 {
		t.Fatalf("got %d distinct agency keys, want 4", len(keys))
	}
	gov := testGovernanceKey().Public().(ed25519.PublicKey)

	type chainState struct {
		seq  uint64
		prev [32]byte
	}
	chains := map[string]*chainState{}
	check := func(name string, ss *akashiv1.SignedStatement, pub ed25519.PublicKey) *akashiv1.Statement {
		t.Helper()
		if err := record.ValidateSignedStatement(ss); err != nil {
			t.Fatalf("%s: ValidateSignedStatement: %v", name, err)
		}
		if err := record.VerifySignature(pub, testOrigin, ss); err != nil {
			t.Fatalf("%s: VerifySignature: %v", name, err)
		}
		if err := record.VerifySignature(pub, "other.example/log", ss); err == nil {
			t.Fatalf("%s: signature verifies for another origin", name)
		}
		st := decode(t, ss)
		if err := record.ValidateStatement(st); err != nil {
			t.Fatalf("%s: ValidateStatement: %v", name, err)
		}
		c := chains[ss.KeyId]
		if c == nil {
			c = &chainState{}
			chains[ss.KeyId] = c
		}
		if st.Sequence != c.seq+1 {
			t.Fatalf("%s: sequence = %d, want %d", name, st.Sequence, c.seq+1)
		}
		if c.seq == 0 && len(st.Previous) != 0 {
			t.Fatalf("%s: previous = %x, want empty for sequence 1", name, st.Previous)
		}
		if c.seq > 0 && !bytes.Equal(st.Previous, c.prev[:]) {
			t.Fatalf("%s: previous = %x, want %x", name, st.Previous, c.prev)
		}
		c.seq, c.prev = st.Sequence, record.StatementHash(ss.Statement)
		return st
	}

	if len(d.Governance) != len(d.Agencies) {
		t.Fatalf("got %d governance statements, want %d", len(d.Governance), len(d.Agencies))
	}
	for i, ss := range d.Governance {
		st := check("governance", ss, gov)
		rk := st.GetGovernance().GetRegisterKey()
		a := d.Agencies[i]
		if rk.GetAgency().GetId() != a.Org.Id || !bytes.Equal(rk.GetPublicKey(), a.Key.Public().(ed25519.PublicKey)) || rk.GetLabel() != a.Label {
			t.Errorf("governance statement %d registers %v, want agency %d (%s, %s)", i, rk, i, a.Org.Id, a.Label)
		}
	}
	for _, ss := range d.Records {
		pub, ok := keys[ss.KeyId]
		if !ok {
			t.Fatalf("record signed by unknown key %s", ss.KeyId)
		}
		st := check("record", ss, pub)
		r := st.GetRecord()
		if r == nil {
			t.Fatalf("key %s sequence %d: not a record", ss.KeyId, st.Sequence)
		}
		for _, a := range d.Agencies {
			if record.KeyID(a.Key.Public().(ed25519.PublicKey)) == ss.KeyId &&
				(r.Publisher.GetId() != a.Org.Id || r.Jurisdiction != a.Jurisdiction) {
				t.Errorf("record %s: publisher %s jurisdiction %q, want its key's agency %s %q", r.Id, r.Publisher.GetId(), r.Jurisdiction, a.Org.Id, a.Jurisdiction)
			}
		}
	}
	// Tokyo writes with two keys, each with its own sequence.
	if len(chains) != 5 {
		t.Errorf("got %d signers, want 5 (governance and 4 agency keys)", len(chains))
	}
}

// records decodes d's records.
func records(t *testing.T, d *Dataset) []*akashiv1.Record {
	t.Helper()
	var out []*akashiv1.Record
	for _, ss := range d.Records {
		out = append(out, decode(t, ss).GetRecord())
	}
	return out
}

func TestReferences(t *testing.T) {
	d, _ := testData(t)
	type key struct{ publisher, id string }
	seen := map[key]*akashiv1.Record{}
	resolve := func(from *akashiv1.Record, what string, ref *akashiv1.RecordRef, want record.Kind) *akashiv1.Record {
		t.Helper()
		pub := ref.GetPublisher()
		if pub == "" {
			pub = from.Publisher.GetId()
		}
		to := seen[key{pub, ref.GetId()}]
		if to == nil {
			t.Fatalf("record %s: %s %s/%s does not appear earlier", from.Id, what, pub, ref.GetId())
		}
		if k, _ := record.KindOf(to); want != 0 && k != want {
			t.Errorf("record %s: %s %s is a %v, want a %v", from.Id, what, to.Id, k, want)
		}
		return to
	}
	processes := map[string]bool{}
	for _, r := range records(t, d) {
		k := key{r.Publisher.GetId(), r.Id}
		if seen[k] != nil {
			t.Fatalf("duplicate record id %s/%s", k.publisher, k.id)
		}
		if r.Tag != akashiv1.Tag_TAG_NEW {
			to := resolve(r, "amends", &akashiv1.RecordRef{Id: r.Amends}, 0)
			k1, _ := record.KindOf(r)
			k2, _ := record.KindOf(to)
			if to.ProcessId != r.ProcessId || k1 != k2 {
				t.Errorf("record %s amends %s: process %s/%s, kind %v/%v; want the same", r.Id, to.Id, r.ProcessId, to.ProcessId, k1, k2)
			}
			if r.Rationale == "" {
				t.Errorf("record %s: %v without rationale", r.Id, r.Tag)
			}
		} else if processes[r.Publisher.GetId()+" "+r.ProcessId] {
			t.Errorf("record %s: second TAG_NEW in process %s", r.Id, r.ProcessId)
		}
		processes[r.Publisher.GetId()+" "+r.ProcessId] = true
		if q := r.GetRequest(); q != nil {
			resolve(r, "basis_decision", q.BasisDecision, record.KindDecision)
			if cp := q.CompensationProgramme; cp != "" && !processes[r.Publisher.GetId()+" "+cp] {
				t.Errorf("record %s: compensation_programme %s does not appear earlier", r.Id, cp)
			}
		}
		if x := r.GetDisbursement(); x != nil {
			resolve(r, "related_request", x.RelatedRequest, record.KindRequest)
		}
		for _, rel := range r.Related {
			resolve(r, "related", rel.Record, 0)
		}
		if r.License != "CC-BY-4.0" || !strings.HasSuffix(r.RecordedAt, "+09:00") || len(r.Documents) == 0 {
			t.Errorf("record %s: license %q, recorded_at %q, %d documents", r.Id, r.License, r.RecordedAt, len(r.Documents))
		}
		seen[k] = r
	}
}

// TestShape checks the counts and the money.
func TestShape(t *testing.T) {
	d, _ := testData(t)
	kinds := map[string]int{}
	var tokyoNet, tokyoPaid int64
	individuals := 0
	latest := map[string]*akashiv1.Disbursement{} // Tokyo disbursements by process
	tags := map[akashiv1.Tag]int{}
	for _, r := range records(t, d) {
		tags[r.Tag]++
		k, _ := record.KindOf(r)
		kinds[r.Publisher.GetName()+" "+k.String()]++
		x := r.GetDisbursement()
		if x == nil {
			continue
		}
		if x.Payee.GetIndividual() != nil {
			individuals++
			if err := record.ValidatePayeeID(x.Payee.GetIndividual().Id); err != nil {
				t.Errorf("record %s: %v", r.Id, err)
			}
		}
		if x.Payer.GetId() != "JP-JCN-8000020130001" {
			continue
		}
		switch x.TransactionType {
		case akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT:
			latest[r.ProcessId] = x
			if want := shopsAmount(x.FacilityCount); x.Amount.MinorUnits != want {
				t.Errorf("record %s: %d shops paid %d, want %d", r.Id, x.FacilityCount, x.Amount.MinorUnits, want)
			}
			if x.ValueDate < "2020-05-07" || x.ValueDate > "2020-06-30" {
				t.Errorf("record %s: value date %s outside 2020-05-07..2020-06-30", r.Id, x.ValueDate)
			}
		case akashiv1.TransactionType_TRANSACTION_TYPE_REFUND, akashiv1.TransactionType_TRANSACTION_TYPE_CLAWBACK:
			tokyoNet -= x.Amount.MinorUnits
		}
	}
	for _, x := range latest {
		tokyoPaid += x.Amount.MinorUnits
	}
	tokyoNet += tokyoPaid
	t.Logf("records by publisher and kind: %v; tags: %v", kinds, tags)
	t.Logf("Tokyo: %d awards, paid ¥%d, net of refunds and clawbacks ¥%d; %d personal payees", len(latest), tokyoPaid, tokyoNet, individuals)

	if len(latest) != DefaultDisbursements {
		t.Errorf("Tokyo awards = %d, want %d", len(latest), DefaultDisbursements)
	}
	// 3,000 payments of ¥500,000 or ¥1,000,000, most for one shop: about
	// ¥1.8 bn (the real programme paid about ¥3 bn for 5,000).
	if tokyoPaid < 1_500_000_000 || tokyoPaid > 2_200_000_000 || tokyoNet >= tokyoPaid || tokyoNet < tokyoPaid-20_000_000 {
		t.Errorf("Tokyo paid ¥%d, net ¥%d; want about ¥1.8 bn, slightly less net", tokyoPaid, tokyoNet)
	}
	if individuals < DefaultDisbursements/20 || individuals > DefaultDisbursements/5 {
		t.Errorf("got %d personal payee records, want about 10%% of %d", individuals, DefaultDisbursements)
	}
	for _, tag := range []akashiv1.Tag{akashiv1.Tag_TAG_UPDATE, akashiv1.Tag_TAG_AMENDMENT, akashiv1.Tag_TAG_CORRECTION} {
		if tags[tag] == 0 {
			t.Errorf("no %v record", tag)
		}
	}
	if kinds["大阪府 disbursement"] != osakaDisbursements || kinds["大阪府 request"] != 2 || kinds["新型コロナウイルス感染症対策本部 decision"] != 4 {
		t.Errorf("records by publisher and kind: %v", kinds)
	}
}

// TestNoPersonalData checks that no synthetic name or address committed to
// appears in any statement, and that each commitment opens.
func TestNoPersonalData(t *testing.T) {
	d, people := testData(t)
	if len(people) == 0 {
		t.Fatal("no personal payees")
	}
	commitments := map[string][]byte{}
	for _, r := range records(t, d) {
		if p := r.GetDisbursement().GetPayee().GetIndividual(); p != nil {
			commitments[p.Id] = p.Commitment
		}
	}
	if len(commitments) != len(people) {
		t.Errorf("got %d personal payee ids, want one for each of %d people", len(commitments), len(people))
	}
	for _, p := range people {
		c, err := record.CommitmentFromBytes(commitments[p.payeeID])
		if err != nil {
			t.Fatalf("payee %s: %v", p.payeeID, err)
		}
		if !record.VerifyCommitment(p.salt, p.canonical, c) {
			t.Errorf("payee %s: commitment does not open with the kept salt and data", p.payeeID)
		}
	}
	var words []string
	for _, p := range people {
		words = append(words, p.name, p.address)
	}
	words = append(words, familyNames...)
	words = append(words, givenNames...)
	for i, ss := range allStatements(d) {
		for _, w := range words {
			if bytes.Contains(ss.Statement, []byte(w)) {
				t.Fatalf("statement %d contains personal data %q", i, w)
			}
		}
	}
}

func TestIdentifiers(t *testing.T) {
	d, _ := testData(t)
	for _, a := range d.Agencies {
		if _, err := record.ParseOrgID(a.Org.Id); err != nil {
			t.Errorf("agency %s: %v", a.Label, err)
		}
	}
	if got := d.Agencies[keyOsaka].Org.Id; got != "JP-JCN-4000020270008" {
		t.Errorf("Osaka = %s, want JP-JCN-4000020270008", got)
	}
	var areas []string
	for _, r := range records(t, d) {
		if r.Id == tokyoReqID {
			areas = r.GetRequest().Addressees[0].GetClass().Areas
		}
	}
	if len(areas) != 23 || areas[0] != "131016" || areas[3] != "131041" || areas[12] != "131130" {
		t.Errorf("Tokyo request areas = %v, want the 23 special wards 131016..", areas)
	}
}
