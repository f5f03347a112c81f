// SPDX-License-Identifier: Apache-2.0

package registry

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

const origin = "test.akashi.example/log"

func key(seed byte) ed25519.PrivateKey {
	var s [32]byte
	s[0] = seed
	return ed25519.NewKeyFromSeed(s[:])
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// signer keeps one key's chain.
type signer struct {
	k    ed25519.PrivateKey
	seq  uint64
	last []byte
}

func (s *signer) sign(t *testing.T, o string, st *akashiv1.Statement) []byte {
	t.Helper()
	st.Sequence, st.Previous = s.seq+1, s.last
	ss, err := record.Sign(s.k, o, st)
	if err != nil {
		t.Fatal(err)
	}
	h := record.StatementHash(ss.GetStatement())
	s.seq, s.last = s.seq+1, h[:]
	return marshal(t, ss)
}

func marshal(t *testing.T, ss *akashiv1.SignedStatement) []byte {
	b, err := protoMarshal(ss)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const tokyo = "JP-JCN-8000020130001"
const osaka = "JP-JCN-4000020270008"

func gov(a *akashiv1.GovernanceAction) *akashiv1.Statement {
	return &akashiv1.Statement{Body: &akashiv1.Statement_Governance{Governance: a}}
}

func register(agency string, k ed25519.PrivateKey) *akashiv1.Statement {
	return gov(&akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{
		Agency: &akashiv1.Organization{Id: agency, Name: "agency " + agency}, PublicKey: pub(k), Label: "office",
	}}})
}

func revoke(k ed25519.PrivateKey) *akashiv1.Statement {
	return gov(&akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RevokeKey{RevokeKey: &akashiv1.RevokeKey{KeyId: record.KeyID(pub(k)), Reason: "rotated"}}})
}

func rotate(k ed25519.PrivateKey) *akashiv1.Statement {
	return gov(&akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RotateGovernanceKey{RotateGovernanceKey: &akashiv1.RotateGovernanceKey{PublicKey: pub(k)}}})
}

func rec(publisher, id string) *akashiv1.Statement {
	return &akashiv1.Statement{Body: &akashiv1.Statement_Record{Record: &akashiv1.Record{
		Id: id, ProcessId: id, Tag: akashiv1.Tag_TAG_NEW, Publisher: &akashiv1.Organization{Id: publisher},
		RecordedAt: "2020-04-07T19:00:00+09:00",
		Body: &akashiv1.Record_Decision{Decision: &akashiv1.Decision{
			Title: "decision", Type: akashiv1.DecisionType_DECISION_TYPE_POLICY, DecisionDate: "2020-04-07", Status: akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE,
		}},
	}}}
}

// TestReplay builds a log with registrations, key rotations, a revocation
// and a governance rotation, replays it, then checks that each kind of
// violation appended after it is refused at its index and changes nothing.
func TestReplay(t *testing.T) {
	g1, g2 := &signer{k: key(1)}, &signer{k: key(2)}
	t1, t2, o1 := &signer{k: key(11)}, &signer{k: key(12)}, &signer{k: key(21)}
	entries := [][]byte{
		g1.sign(t, origin, rotate(g1.k)), // 0: genesis
		g1.sign(t, origin, register(tokyo, t1.k)),
		g1.sign(t, origin, register(osaka, o1.k)),
		t1.sign(t, origin, rec(tokyo, "t-1")),
		o1.sign(t, origin, rec(osaka, "o-1")),
		t1.sign(t, origin, rec(tokyo, "t-2")),
		g1.sign(t, origin, register(tokyo, t2.k)), // Tokyo rotates: new key …
		g1.sign(t, origin, revoke(t1.k)),          // … old key revoked
		t2.sign(t, origin, rec(tokyo, "t-3")),
		g1.sign(t, origin, rotate(g2.k)), // the governance key rotates
		g2.sign(t, origin, register(osaka, key(22))),
	}
	m := NewMemory(origin)
	for i, e := range entries {
		if err := m.Append(uint64(i), e); err != nil {
			t.Fatalf("Append(%d) = %v", i, err)
		}
	}
	if g, _ := m.Governance(); g != record.KeyID(pub(g2.k)) {
		t.Fatalf("governance key %s, want %s", g, record.KeyID(pub(g2.k)))
	}
	if k, _, _ := m.Key(record.KeyID(pub(t1.k))); !k.Revoked || k.RevokedAt != 7 {
		t.Fatalf("tokyo's first key: %+v, want revoked at 7", k)
	}
	if got := m.Agencies(); len(got) != 2 {
		t.Fatalf("Agencies() = %v", got)
	}
	next := uint64(len(entries))
	unknown := &signer{k: key(99)}
	forged := func() []byte {
		ss, _ := record.Sign(t2.k, origin, &akashiv1.Statement{Sequence: t2.seq + 1, Previous: t2.last, Body: rec(tokyo, "forged").Body})
		ss.Signature[0] ^= 1
		return marshal(t, ss)
	}
	tampered := func() []byte {
		st := rec(tokyo, "tampered")
		st.Sequence, st.Previous = t2.seq+1, t2.last
		ss, _ := record.Sign(t2.k, origin, st)
		st.GetRecord().Id = "tampered-after"
		ss.Statement, _ = protoMarshal(st)
		return marshal(t, ss)
	}
	copyOf := func(s *signer) *signer { c := *s; return &c }
	for _, tc := range []struct {
		name    string
		payload []byte
		want    error
	}{
		{"unknown key", copyOf(unknown).sign(t, origin, rec(tokyo, "x")), ErrUnknownKey},
		{"forged signature", forged(), ErrBadSignature},
		{"tampered after signing", tampered(), ErrBadSignature},
		{"signed for another log", copyOf(t2).sign(t, "other.example/log", rec(tokyo, "x")), ErrBadSignature},
		{"revoked key", copyOf(t1).sign(t, origin, rec(tokyo, "x")), ErrRevoked},
		{"another agency's record", copyOf(t2).sign(t, origin, rec(osaka, "x")), ErrWrongAgency},
		{"governance by an agency key", copyOf(t2).sign(t, origin, register(tokyo, key(30))), ErrNotGovernance},
		{"governance by the old governance key", copyOf(g1).sign(t, origin, register(tokyo, key(30))), ErrRevoked},
		{"record by the governance key", copyOf(g2).sign(t, origin, rec(tokyo, "x")), ErrWrongAgency},
		{"sequence used", func() []byte { c := copyOf(t2); c.seq--; return c.sign(t, origin, rec(tokyo, "x")) }(), ErrSequenceUsed},
		{"sequence gap", func() []byte { c := copyOf(t2); c.seq++; return c.sign(t, origin, rec(tokyo, "x")) }(), ErrSequenceGap},
		{"wrong previous", func() []byte { c := copyOf(t2); c.last = make([]byte, 32); return c.sign(t, origin, rec(tokyo, "x")) }(), ErrPreviousMismatch},
		{"register a registered key", copyOf(g2).sign(t, origin, register(tokyo, t2.k)), ErrKeyExists},
		{"revoke an unknown key", copyOf(g2).sign(t, origin, revoke(key(77))), ErrNoSuchKey},
		{"revoke twice", copyOf(g2).sign(t, origin, revoke(t1.k)), ErrNoSuchKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprint(m.Keys(), m.signers, m.governance)
			err := m.Append(next, tc.payload)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Append = %v, want %v", err, tc.want)
			}
			if after := fmt.Sprint(m.Keys(), m.signers, m.governance); after != before {
				t.Fatal("a refused entry changed the registry")
			}
		})
	}
	// The signer can still go on after all that.
	if err := m.Append(next, t2.sign(t, origin, rec(tokyo, "t-4"))); err != nil {
		t.Fatalf("a valid entry after the refusals: %v", err)
	}
}

func TestGenesis(t *testing.T) {
	g := &signer{k: key(1)}
	other := &signer{k: key(2)}
	for _, tc := range []struct {
		name    string
		payload []byte
		want    error
	}{
		{"a record first", other.sign(t, origin, rec(tokyo, "x")), ErrNoGovernance},
		{"a registration first", (&signer{k: key(1)}).sign(t, origin, register(tokyo, key(3))), ErrNoGovernance},
		{"a rotation signed by another key", (&signer{k: key(2)}).sign(t, origin, rotate(key(1))), ErrNoGovernance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := NewMemory(origin).Append(0, tc.payload); !errors.Is(err, tc.want) {
				t.Fatalf("Append = %v, want %v", err, tc.want)
			}
		})
	}
	m := NewMemory(origin)
	if err := m.Append(0, g.sign(t, origin, rotate(g.k))); err != nil {
		t.Fatalf("genesis: %v", err)
	}
}

func TestBatchVerifierAgreesWithVerify(t *testing.T) {
	k := key(5)
	var good, bad []*akashiv1.SignedStatement
	for i := range 20 {
		ss, _ := record.Sign(k, origin, rec(tokyo, fmt.Sprint("r-", i)))
		good = append(good, ss)
		b, _ := record.Sign(k, origin, rec(tokyo, fmt.Sprint("b-", i)))
		b.Signature[5] ^= 0x40
		bad = append(bad, b)
	}
	bv := record.NewBatchVerifier(origin)
	for i := range good {
		bv.Add(pub(k), good[i])
		if i%7 == 3 {
			bv.Add(pub(k), bad[i])
		}
	}
	errs := bv.Verify()
	n := 0
	for i := range good {
		if errs[n] != nil {
			t.Fatalf("good signature %d refused in a batch: %v", i, errs[n])
		}
		n++
		if i%7 == 3 {
			if errs[n] == nil {
				t.Fatalf("bad signature %d accepted in a batch", i)
			}
			n++
		}
	}
}

// TestBatchVerifierMalformed: a statement whose key, key id or signature
// is malformed is refused with VerifySignature's answer, alone, and the
// well-formed statements around it are still accepted.
func TestBatchVerifierMalformed(t *testing.T) {
	k, other := key(8), key(9)
	for _, tc := range []struct {
		name   string
		mutate func(ss *akashiv1.SignedStatement) ed25519.PublicKey
	}{
		{"key id of another key", func(ss *akashiv1.SignedStatement) ed25519.PublicKey {
			ss.KeyId = record.KeyID(pub(other))
			return pub(k)
		}},
		{"another key", func(ss *akashiv1.SignedStatement) ed25519.PublicKey { return pub(other) }},
		{"short key", func(ss *akashiv1.SignedStatement) ed25519.PublicKey { return pub(k)[:31] }},
		{"short signature", func(ss *akashiv1.SignedStatement) ed25519.PublicKey {
			ss.Signature = ss.Signature[:63]
			return pub(k)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bv := record.NewBatchVerifier(origin)
			const bad = 5
			var want error
			for i := range 8 {
				ss, _ := record.Sign(k, origin, rec(tokyo, fmt.Sprint("m-", i)))
				p := pub(k)
				if i == bad {
					p = tc.mutate(ss)
					want = record.VerifySignature(p, origin, ss)
				}
				bv.Add(p, ss)
			}
			if want == nil {
				t.Fatal("the mutated statement verifies alone")
			}
			for i, err := range bv.Verify() {
				switch {
				case i == bad && (err == nil || err.Error() != want.Error()):
					t.Errorf("statement %d: got %v, want %v", i, err, want)
				case i != bad && err != nil:
					t.Errorf("well-formed statement %d refused: %v", i, err)
				}
			}
		})
	}
}

// TestSmallBatches: batches below the size worth batching are verified one
// by one, with the same answers.
func TestSmallBatches(t *testing.T) {
	k := key(6)
	for n := 1; n <= 4; n++ {
		for badAt := -1; badAt < n; badAt++ {
			bv := record.NewBatchVerifier(origin)
			for i := range n {
				ss, _ := record.Sign(k, origin, rec(tokyo, fmt.Sprint("s-", n, "-", i)))
				if i == badAt {
					ss.Signature[9] ^= 1
				}
				bv.Add(pub(k), ss)
			}
			for i, err := range bv.Verify() {
				if (err != nil) != (i == badAt) {
					t.Fatalf("batch of %d, bad at %d: statement %d: %v", n, badAt, i, err)
				}
			}
		}
	}
}

// BenchmarkBatchVerify measures a signature's cost in batches of several
// sizes and alone; record.minBatch follows from it.
func BenchmarkBatchVerify(b *testing.B) {
	k := key(7)
	var statements []*akashiv1.SignedStatement
	for i := range 64 {
		ss, _ := record.Sign(k, origin, rec(tokyo, fmt.Sprint("b-", i)))
		statements = append(statements, ss)
	}
	for _, n := range []int{1, 2, 3, 8, 64} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			for b.Loop() {
				bv := record.NewBatchVerifier(origin)
				for _, ss := range statements[:n] {
					bv.Add(pub(k), ss)
				}
				bv.Verify()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e3, "µs/sig")
		})
	}
	b.Run("alone", func(b *testing.B) {
		for b.Loop() {
			record.VerifySignature(pub(k), origin, statements[0])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/sig")
	})
}
