// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"

	"github.com/akashi-ledger/akashi"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/ledger/verify"
	"github.com/akashi-ledger/akashi/query"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/server"
	"github.com/akashi-ledger/akashi/server/demo"
	"github.com/akashi-ledger/akashi/server/gateway"
)

const origin = "query.test.akashi.example/log"

// stack is the server as akashi serve wires it: the ledger with the
// server's hook, the gRPC services with their interceptors, and the REST
// gateway dialling them, over loopback.
type stack struct {
	t        *testing.T
	log      *ledger.Log
	query    *server.QueryServer
	url      string
	conn     *grpc.ClientConn
	verifier note.Verifier
}

func startStack(t *testing.T, limit ...float64) *stack {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := ledger.Open(t.Context(), t.TempDir(), ledger.Options{Origin: origin, Signer: signer, Verifier: verifier, Hook: server.Hook(origin), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	unary, streamI := server.Interceptors(logger, server.NewMetrics(prometheus.NewRegistry()))
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(streamI))
	srv := server.New(l, server.Options{VerifierKey: vkey, Logger: logger})
	akashiv1.RegisterLedgerServiceServer(gs, srv)
	akashiv1.RegisterRegistryServiceServer(gs, srv.Registry())
	qs, err := server.NewQuery(t.Context(), l, logger)
	if err != nil {
		t.Fatal(err)
	}
	akashiv1.RegisterQueryServiceServer(gs, qs)
	conn, stopGRPC := server.ServeLoopback(t, gs)
	ctx, cancel := context.WithCancel(context.Background())
	o := gateway.Options{Conn: conn, Log: l, OpenAPI: akashi.OpenAPI, Logger: logger, ReadLimit: 1e6, ReadBurst: 1e6}
	if len(limit) > 0 {
		o.ReadLimit, o.ReadBurst = rate.Limit(limit[0]), int(limit[0])
	}
	h, err := gateway.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.Close()
		cancel()
		stopGRPC()
		srv.Close()
		if err := qs.Close(); err != nil {
			t.Error(err)
		}
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return &stack{t: t, log: l, query: qs, url: hs.URL, conn: conn, verifier: verifier}
}

// load appends a demo dataset: the governance key, the agencies' keys,
// then the records; it returns once the query index covers them.
func (s *stack) load(ds *demo.Dataset) {
	t := s.t
	ctx := t.Context()
	_, gov, _ := ed25519.GenerateKey(rand.Reader)
	reg := akashiv1.NewRegistryServiceClient(s.conn)
	var seq uint64
	var prev []byte
	apply := func(a *akashiv1.GovernanceAction) {
		seq++
		ss, err := record.Sign(gov, origin, &akashiv1.Statement{Sequence: seq, Previous: prev, Body: &akashiv1.Statement_Governance{Governance: a}})
		if err != nil {
			t.Fatal(err)
		}
		h := record.StatementHash(ss.GetStatement())
		prev = h[:]
		if _, err := reg.ApplyGovernance(ctx, &akashiv1.ApplyGovernanceRequest{Statement: ss}); err != nil {
			t.Fatal(err)
		}
	}
	apply(&akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RotateGovernanceKey{RotateGovernanceKey: &akashiv1.RotateGovernanceKey{PublicKey: gov.Public().(ed25519.PublicKey)}}})
	for _, a := range ds.Agencies {
		apply(&akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{Agency: a.Org, PublicKey: a.Key.Public().(ed25519.PublicKey), Label: a.Label}}})
	}
	stream, err := akashiv1.NewLedgerServiceClient(s.conn).AppendRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for _, st := range ds.Records {
			stream.Send(&akashiv1.AppendRecordsRequest{Statement: st})
		}
		stream.CloseSend()
	}()
	for range ds.Records {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetErrorCode() != 0 {
			t.Fatalf("record %d refused: %s", resp.GetPosition(), resp.GetErrorMessage())
		}
	}
	s.indexed()
}

// indexed waits until queries answer for the whole log.
func (s *stack) indexed() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), time.Minute)
	defer cancel()
	if err := s.query.WaitIndexed(ctx, s.log.Size()); err != nil {
		s.t.Fatalf("waiting for the query index to cover %d entries: %v", s.log.Size(), err)
	}
}

func (s *stack) get(path string, out any) (int, []byte) {
	s.t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(body, out); err != nil {
			s.t.Fatalf("GET %s: %v in %.300s", path, err, body)
		}
	}
	return resp.StatusCode, body
}

// row is a record as the brute-force scan sees it.
type row struct {
	index uint64
	rec   *akashiv1.Record
}

// scan reads the whole log.
func (s *stack) scan() []row {
	var rows []row
	err := s.log.Entries(s.t.Context(), 0, s.log.Size(), func(e ledger.Entry) error {
		ss, err := record.DecodeSignedStatement(e.Payload)
		if err != nil {
			return err
		}
		st, err := record.DecodeStatement(ss.GetStatement())
		if err != nil {
			return err
		}
		if st.GetRecord() != nil {
			rows = append(rows, row{e.Index, st.GetRecord()})
		}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return rows
}

type hitsPage struct {
	Hits []struct {
		Index    string
		LeafHash []byte
		ProofUrl string
		Current  bool
		Record   struct{ Id string }
	}
	NextPageToken string
	Total         string
	TreeSize      string
	Checkpoint    string
}

// pages follows a search through all its pages.
func (s *stack) pages(q string, pageSize int) ([]uint64, uint64) {
	s.t.Helper()
	var got []uint64
	token := ""
	var size uint64
	for n := 0; ; n++ {
		path := fmt.Sprintf("/v1/records?%s&page_size=%d", q, pageSize)
		if token != "" {
			path += "&page_token=" + token
		}
		var p hitsPage
		code, body := s.get(path, &p)
		if code != 200 {
			s.t.Fatalf("GET %s = %d %s", path, code, body)
		}
		ts, _ := strconv.ParseUint(p.TreeSize, 10, 64)
		if n == 0 {
			size = ts
		} else if ts != size {
			s.t.Fatalf("page %d of %q reflects tree size %d, the first page %d", n, q, ts, size)
		}
		if p.Checkpoint == "" {
			s.t.Fatalf("GET %s: no checkpoint", path)
		}
		for _, h := range p.Hits {
			i, _ := strconv.ParseUint(h.Index, 10, 64)
			if len(h.LeafHash) != 32 || !strings.Contains(h.ProofUrl, "index="+h.Index) {
				s.t.Fatalf("hit %s: leaf hash %x, proof %q", h.Index, h.LeafHash, h.ProofUrl)
			}
			got = append(got, i)
		}
		if p.NextPageToken == "" {
			return got, size
		}
		token = url.QueryEscape(p.NextPageToken)
		if n > 10000 {
			s.t.Fatal("too many pages")
		}
	}
}

// Independent helpers of the brute-force scan.
func effDate(r *akashiv1.Record) string {
	for _, s := range []string{r.GetEffectiveDate(), r.GetDisbursement().GetValueDate(), r.GetDecision().GetDecisionDate(), r.GetRequest().GetPeriod().GetStartDate()} {
		if s != "" {
			return s
		}
	}
	return ""
}

func recDate(r *akashiv1.Record) string {
	t, _ := time.Parse(time.RFC3339, r.GetRecordedAt())
	return t.In(time.FixedZone("JST", 9*3600)).Format(time.DateOnly)
}

func payee(r *akashiv1.Record) string {
	p := r.GetDisbursement().GetPayee()
	if p.GetOrganization() != nil {
		return p.GetOrganization().GetId()
	}
	return p.GetIndividual().GetId()
}

func cites(r *akashiv1.Record, ref string) bool {
	pub := r.GetPublisher().GetId()
	var refs []*akashiv1.RecordRef
	refs = append(refs, r.GetRequest().GetBasisDecision(), r.GetDisbursement().GetRelatedRequest())
	for _, x := range r.GetRelated() {
		refs = append(refs, x.GetRecord())
	}
	for _, x := range refs {
		if x == nil {
			continue
		}
		p := x.GetPublisher()
		if p == "" {
			p = pub
		}
		if p+"/"+x.GetId() == ref || x.GetId() == ref {
			return true
		}
	}
	return false
}

func areas(r *akashiv1.Record) []string {
	out := slices.Clone(r.GetDecision().GetAreas())
	for _, a := range r.GetRequest().GetAddressees() {
		out = append(out, a.GetClass().GetAreas()...)
	}
	if a := r.GetDisbursement().GetPayeeArea(); a != "" {
		out = append(out, a)
	}
	return out
}

func text(r *akashiv1.Record) string {
	return strings.ToLower(r.GetDecision().GetTitle() + "\n" + r.GetDecision().GetDescription() + "\n" + r.GetRequest().GetTitle() + "\n" + r.GetRequest().GetDescription() + "\n" +
		r.GetDisbursement().GetProgramme().GetTitle() + "\n" + r.GetDisbursement().GetPayee().GetOrganization().GetName())
}

// superseded returns the indexes of records a later record amends.
func superseded(rows []row) map[uint64]bool {
	byID := map[string]uint64{}
	sup := map[uint64]bool{}
	for _, r := range rows {
		if r.rec.GetTag() != akashiv1.Tag_TAG_NEW {
			sup[byID[r.rec.GetPublisher().GetId()+"/"+r.rec.GetAmends()]] = true
		}
		byID[r.rec.GetPublisher().GetId()+"/"+r.rec.GetId()] = r.index
	}
	return sup
}

func TestQueryAgainstBruteForce(t *testing.T) {
	s := startStack(t)
	ds, err := demo.Generate(demo.Options{Origin: origin, Seed: 11, Disbursements: 600})
	if err != nil {
		t.Fatal(err)
	}
	s.load(ds)
	rows := s.scan()
	sup := superseded(rows)
	tokyo := ds.Agencies[1].Org.GetId()
	var aPayee, aWardArea string
	for _, r := range rows {
		if r.rec.GetDisbursement() != nil && r.rec.GetTag() == akashiv1.Tag_TAG_CORRECTION {
			aPayee = payee(r.rec)
		}
		if a := r.rec.GetDisbursement().GetPayeeArea(); a != "" && aWardArea == "" {
			aWardArea = a
		}
	}
	type tc struct {
		q     string
		match func(r *akashiv1.Record, index uint64) bool
		key   func(r *akashiv1.Record) string // sort key; "" sorts last
		desc  bool
	}
	isKind := func(k string) func(*akashiv1.Record, uint64) bool {
		return func(r *akashiv1.Record, _ uint64) bool {
			return k == map[bool]string{true: "disbursement"}[r.GetDisbursement() != nil] || k == "decision" && r.GetDecision() != nil || k == "request" && r.GetRequest() != nil
		}
	}
	amount := func(r *akashiv1.Record) string {
		if r.GetDisbursement().GetAmount().GetCurrency() != "JPY" {
			return ""
		}
		return fmt.Sprintf("%020d", r.GetDisbursement().GetAmount().GetMinorUnits())
	}
	cases := []tc{
		{q: "", match: func(*akashiv1.Record, uint64) bool { return true }},
		{q: "sort=index", match: func(*akashiv1.Record, uint64) bool { return true }},
		{q: "kind=decision,request", match: func(r *akashiv1.Record, i uint64) bool { return isKind("decision")(r, i) || isKind("request")(r, i) }},
		{q: "kind=disbursement&publisher=" + tokyo, match: func(r *akashiv1.Record, i uint64) bool {
			return isKind("disbursement")(r, i) && r.GetPublisher().GetId() == tokyo
		}},
		{q: "jurisdiction=270008", match: func(r *akashiv1.Record, _ uint64) bool { return r.GetJurisdiction() == "270008" }},
		{q: "area=130001&sort=index", match: func(r *akashiv1.Record, _ uint64) bool {
			return slices.ContainsFunc(areas(r), func(a string) bool { return strings.HasPrefix(a, "13") })
		}},
		{q: "area=" + aWardArea, match: func(r *akashiv1.Record, _ uint64) bool { return slices.Contains(areas(r), aWardArea) }},
		{q: "programme=OSK-2020-KYUGYO-SHIENKIN-1", match: func(r *akashiv1.Record, _ uint64) bool {
			return r.GetDisbursement().GetProgramme().GetCode() == "OSK-2020-KYUGYO-SHIENKIN-1"
		}},
		{q: "payee=" + aPayee, match: func(r *akashiv1.Record, _ uint64) bool { return payee(r) == aPayee }},
		{q: "legal_basis=424AC0000000031", match: func(r *akashiv1.Record, _ uint64) bool {
			return slices.ContainsFunc(r.GetLegalBasis(), func(l *akashiv1.LegalBasis) bool { return l.GetLawId() == "424AC0000000031" })
		}},
		{q: "tag=correction,update,amendment", match: func(r *akashiv1.Record, _ uint64) bool { return r.GetTag() != akashiv1.Tag_TAG_NEW }},
		{q: "decision=covid-hq-2020-0001", match: func(r *akashiv1.Record, _ uint64) bool { return cites(r, "covid-hq-2020-0001") }},
		{q: "request=tokyo-req-2020-0001&transaction_type=refund,clawback", match: func(r *akashiv1.Record, _ uint64) bool {
			tt := r.GetDisbursement().GetTransactionType()
			return cites(r, "tokyo-req-2020-0001") && (tt == akashiv1.TransactionType_TRANSACTION_TYPE_REFUND || tt == akashiv1.TransactionType_TRANSACTION_TYPE_CLAWBACK)
		}},
		{q: "effective_from=2020-05-20&effective_to=2020-05-31&sort=effective_date", match: func(r *akashiv1.Record, _ uint64) bool {
			return effDate(r) >= "2020-05-20" && effDate(r) <= "2020-05-31"
		}, key: effDate},
		{q: "kind=disbursement&sort=-effective_date", match: isKind("disbursement"), key: effDate, desc: true},
		{q: "recorded_from=2020-06-01&sort=-recorded_date", match: func(r *akashiv1.Record, _ uint64) bool { return recDate(r) >= "2020-06-01" }, key: recDate, desc: true},
		{q: "sort=recorded_date", match: func(*akashiv1.Record, uint64) bool { return true }, key: recDate},
		{q: "currency=JPY&amount_min=600000&sort=amount", match: func(r *akashiv1.Record, _ uint64) bool {
			return r.GetDisbursement().GetAmount().GetMinorUnits() >= 600000
		}, key: amount},
		{q: "currency=JPY&amount_max=500000&sort=-amount&kind=disbursement", match: func(r *akashiv1.Record, _ uint64) bool {
			return r.GetDisbursement() != nil && r.GetDisbursement().GetAmount().GetMinorUnits() <= 500000
		}, key: amount, desc: true},
		{q: "sort=-amount&currency=JPY", match: func(r *akashiv1.Record, _ uint64) bool { return r.GetDisbursement() != nil }, key: amount, desc: true},
		{q: "current=true&kind=disbursement", match: func(r *akashiv1.Record, i uint64) bool { return r.GetDisbursement() != nil && !sup[i] }},
		{q: "index_from=20&index_to=90&sort=index", match: func(_ *akashiv1.Record, i uint64) bool { return i >= 20 && i < 90 }},
		{q: "q=" + url.QueryEscape("協力金"), match: func(r *akashiv1.Record, _ uint64) bool { return strings.Contains(text(r), "協力金") }},
		{q: "q=" + url.QueryEscape("営業時間 短縮"), match: func(r *akashiv1.Record, _ uint64) bool {
			return strings.Contains(text(r), "営業時間") && strings.Contains(text(r), "短縮")
		}},
		{q: "q=" + url.QueryEscape("緊急事態宣言"), match: func(r *akashiv1.Record, _ uint64) bool { return strings.Contains(text(r), "緊急事態宣言") }},
		{q: "q=restaurants&kind=request", match: func(r *akashiv1.Record, _ uint64) bool {
			return r.GetRequest() != nil && slices.Contains(strings.FieldsFunc(text(r), func(c rune) bool { return !('a' <= c && c <= 'z') }), "restaurants")
		}},
		{q: "q=" + url.QueryEscape("さくら食堂") + "&area=130001", match: func(r *akashiv1.Record, _ uint64) bool {
			return strings.Contains(text(r), "さくら食堂") && slices.ContainsFunc(areas(r), func(a string) bool { return strings.HasPrefix(a, "13") })
		}},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			var want []row
			for _, r := range rows {
				if c.match(r.rec, r.index) {
					want = append(want, r)
				}
			}
			// The order: by key (missing keys last), then index; or by
			// index, newest first by default.
			switch {
			case c.key != nil:
				slices.SortStableFunc(want, func(a, b row) int {
					ka, kb := c.key(a.rec), c.key(b.rec)
					if (ka == "") != (kb == "") {
						if ka == "" {
							return 1
						}
						return -1
					}
					x := strings.Compare(ka, kb)
					if x == 0 {
						x = int(int64(a.index) - int64(b.index))
					}
					if c.desc && ka != "" {
						x = -x
					}
					return x
				})
				if c.desc { // the records without a key come last, newest first
					var keyed, rest []row
					for _, r := range want {
						if c.key(r.rec) == "" {
							rest = append(rest, r)
						} else {
							keyed = append(keyed, r)
						}
					}
					slices.Reverse(rest)
					want = append(keyed, rest...)
				}
			case !strings.Contains(c.q, "sort=index"):
				slices.Reverse(want)
			}
			var wantIdx []uint64
			for _, r := range want {
				wantIdx = append(wantIdx, r.index)
			}
			for _, ps := range []int{1000, 7} {
				got, _ := s.pages(c.q, ps)
				if !slices.Equal(got, wantIdx) {
					t.Errorf("page size %d: %d hits, want %d\n got %v\nwant %v", ps, len(got), len(wantIdx), head(got), head(wantIdx))
				}
			}
			if len(want) == 0 && c.q != "" {
				t.Logf("no records match %q", c.q)
			}
		})
	}
	if _, err := query.Parse(query.Params{Q: "協力金"}, nil); err != nil {
		t.Fatal(err)
	}
}

func head(s []uint64) []uint64 { return s[:min(len(s), 20)] }

// TestQueryPagesAreStable pages through a search while records are being
// appended: every page reflects the first page's tree size.
func TestQueryPagesAreStable(t *testing.T) {
	s := startStack(t)
	ds, _ := demo.Generate(demo.Options{Origin: origin, Seed: 3, Disbursements: 200})
	half := &demo.Dataset{Agencies: ds.Agencies, Records: ds.Records[:120]}
	s.load(half)
	var p hitsPage
	if code, body := s.get("/v1/records?kind=disbursement&sort=index&page_size=10", &p); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	first, _ := strconv.ParseUint(p.TreeSize, 10, 64)
	total := p.Total
	// More records, from the same signers' chains.
	stream, _ := akashiv1.NewLedgerServiceClient(s.conn).AppendRecords(t.Context())
	for _, st := range ds.Records[120:] {
		stream.Send(&akashiv1.AppendRecordsRequest{Statement: st})
	}
	stream.CloseSend()
	for range ds.Records[120:] {
		if r, err := stream.Recv(); err != nil || r.GetErrorCode() != 0 {
			t.Fatalf("append: %v %v", err, r.GetErrorMessage())
		}
	}
	var p2 hitsPage
	if code, body := s.get("/v1/records?kind=disbursement&sort=index&page_size=10&page_token="+url.QueryEscape(p.NextPageToken), &p2); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if p2.TreeSize != p.TreeSize || p2.Total != total {
		t.Fatalf("second page: tree size %s total %s, want %d and %s", p2.TreeSize, p2.Total, first, total)
	}
	if s.log.Size() <= first {
		t.Fatal("the log did not grow")
	}
}

func TestQueryAggregatesMoneyAndExports(t *testing.T) {
	s := startStack(t)
	ds, err := demo.Generate(demo.Options{Origin: origin, Seed: 5, Disbursements: 1600})
	if err != nil {
		t.Fatal(err)
	}
	s.load(ds)
	rows := s.scan()
	sup := superseded(rows)

	// Independent sums: current disbursements, not withdrawals; refunds
	// and clawbacks subtract.
	type sums struct{ net, disbursed, refunded, clawed, count int64 }
	want := map[string]*sums{}
	total := &sums{}
	for _, r := range rows {
		d := r.rec.GetDisbursement()
		if d == nil || sup[r.index] || r.rec.GetTag() == akashiv1.Tag_TAG_WITHDRAWAL {
			continue
		}
		t, _ := time.Parse(time.DateOnly, d.GetValueDate())
		fy := t.Year()
		if t.Month() < time.April {
			fy--
		}
		key := fmt.Sprintf("%s|%s|FY%d", d.GetPayeeArea(), t.Format("2006-01"), fy)
		if want[key] == nil {
			want[key] = &sums{}
		}
		for _, x := range []*sums{want[key], total} {
			a := d.GetAmount().GetMinorUnits()
			switch d.GetTransactionType() {
			case akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT:
				x.disbursed += a
				x.net += a
			case akashiv1.TransactionType_TRANSACTION_TYPE_REFUND:
				x.refunded += a
				x.net -= a
			case akashiv1.TransactionType_TRANSACTION_TYPE_CLAWBACK:
				x.clawed += a
				x.net -= a
			}
			x.count++
		}
	}
	var agg struct {
		Groups []struct {
			Key   []string
			Total struct{ Currency, Net, Disbursed, Refunded, ClawedBack, Count string }
		}
		Totals []struct{ Currency, Net, Refunded, ClawedBack, Count string }
	}
	if code, body := s.get("/v1/aggregates?group_by=area,month,fiscal_year&limit=10000", &agg); code != 200 {
		t.Fatalf("aggregate = %d %s", code, body)
	}
	if len(agg.Groups) != len(want) {
		t.Errorf("%d groups, want %d", len(agg.Groups), len(want))
	}
	for _, g := range agg.Groups {
		w := want[strings.Join(g.Key, "|")]
		if w == nil {
			t.Errorf("unexpected group %v", g.Key)
			continue
		}
		if g.Total.Net != strconv.FormatInt(w.net, 10) || g.Total.Count != strconv.FormatInt(w.count, 10) || g.Total.Currency != "JPY" {
			t.Errorf("group %v: net %s count %s, want %d and %d", g.Key, g.Total.Net, g.Total.Count, w.net, w.count)
		}
	}
	if len(agg.Totals) != 1 || agg.Totals[0].Net != strconv.FormatInt(total.net, 10) || agg.Totals[0].Refunded != strconv.FormatInt(total.refunded, 10) || total.refunded == 0 || total.clawed == 0 {
		t.Errorf("totals %+v, want net %d refunded %d clawed back %d", agg.Totals, total.net, total.refunded, total.clawed)
	}
	var q struct {
		Groups []struct {
			Key   []string
			Total struct{ Net string }
		}
	}
	if code, body := s.get("/v1/aggregates?group_by=quarter,publisher&order=-net", &q); code != 200 || len(q.Groups) == 0 || q.Groups[0].Key[0] != "2020-Q2" {
		t.Errorf("aggregate by quarter = %d %.300s", code, body)
	}
	// Each string dimension alone, against sums made from the records.
	for _, dim := range []struct {
		name string
		of   func(*akashiv1.Record) string
	}{
		{"publisher", func(r *akashiv1.Record) string { return r.GetPublisher().GetId() }},
		{"payee", query.PayeeID},
		{"programme", func(r *akashiv1.Record) string { return r.GetDisbursement().GetProgramme().GetCode() }},
		{"area", func(r *akashiv1.Record) string { return r.GetDisbursement().GetPayeeArea() }},
	} {
		net := map[string]int64{}
		for _, r := range rows {
			d := r.rec.GetDisbursement()
			if d == nil || sup[r.index] || r.rec.GetTag() == akashiv1.Tag_TAG_WITHDRAWAL {
				continue
			}
			a := d.GetAmount().GetMinorUnits()
			if d.GetTransactionType() != akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT {
				a = -a
			}
			net[dim.of(r.rec)] += a
		}
		q.Groups = nil
		if code, body := s.get("/v1/aggregates?group_by="+dim.name+"&limit=10000", &q); code != 200 {
			t.Fatalf("aggregate by %s = %d %s", dim.name, code, body)
		}
		if len(q.Groups) != len(net) {
			t.Errorf("aggregate by %s: %d groups, want %d", dim.name, len(q.Groups), len(net))
		}
		for _, g := range q.Groups {
			got := g.Total.Net
			if got == "" { // zero is left out of the JSON
				got = "0"
			}
			if w, ok := net[g.Key[0]]; !ok || got != strconv.FormatInt(w, 10) {
				t.Errorf("aggregate by %s: group %q net %s, want %d (known: %v)", dim.name, g.Key[0], got, w, ok)
			}
		}
	}

	// Follow the money from the national declaration.
	var fd struct {
		Decision struct{ Record struct{ Id string } }
		Requests []struct {
			Request          struct{ Record struct{ Id string } }
			Totals           []struct{ Net, Count string }
			DisbursementsUrl string
		}
		Totals []struct{ Net string }
	}
	if code, body := s.get("/v1/money/decisions/covid-hq-2020-0001", &fd); code != 200 {
		t.Fatalf("follow = %d %s", code, body)
	}
	if len(fd.Requests) != 2 || len(fd.Totals) != 1 || fd.Totals[0].Net != strconv.FormatInt(total.net, 10) {
		t.Errorf("follow: %d requests, totals %+v; want 2 and net %d", len(fd.Requests), fd.Totals, total.net)
	}
	// A payee's money.
	var payeeID string
	for _, r := range rows {
		if r.rec.GetTag() == akashiv1.Tag_TAG_CORRECTION {
			payeeID = payee(r.rec)
		}
	}
	var fp struct {
		Disbursements []json.RawMessage
		Totals        []struct{ Net, Count string }
	}
	if code, body := s.get("/v1/money/payees/"+payeeID, &fp); code != 200 || len(fp.Disbursements) < 2 || len(fp.Totals) != 1 || fp.Totals[0].Count != "1" {
		t.Errorf("payee %s = %d %.400s", payeeID, code, body)
	}
	// The corrected process, compiled.
	var pr struct {
		Compiled struct{ Id string }
		Versions []struct{ ChangedFields []string }
		TreeSize string
	}
	var corr *akashiv1.Record
	for _, r := range rows {
		if r.rec.GetTag() == akashiv1.Tag_TAG_CORRECTION {
			corr = r.rec
		}
	}
	if code, body := s.get("/v1/processes/"+corr.GetProcessId(), &pr); code != 200 || pr.Compiled.Id != corr.GetId() || len(pr.Versions) != 2 || !slices.Contains(pr.Versions[1].ChangedFields, "disbursement.amount") {
		t.Errorf("process = %d %.500s", code, body)
	}

	// An index-range export, checked against its manifest.
	size := s.log.Size()
	from, to := uint64(3), size-5
	for _, format := range []string{"ndjson", "csv"} {
		resp, err := http.Get(fmt.Sprintf("%s/v1/export?format=%s&index_from=%d&index_to=%d", s.url, format, from, to))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Akashi-Tree-Size") == "" {
			t.Fatalf("export %s = %d %v %.200s", format, resp.StatusCode, resp.Header, body)
		}
		var leaves []verify.Hash
		var first uint64
		if format == "csv" {
			if !bytes.HasPrefix(body, []byte("\ufeffindex,leaf_hash,")) {
				t.Fatalf("CSV export starts %q", body[:40])
			}
			leaves, first, err = query.LeavesFromCSV(bytes.NewReader(body))
		} else {
			leaves, first, err = query.LeavesFromNDJSON(bytes.NewReader(body))
		}
		if err != nil || first != from {
			t.Fatalf("%s export: first %d, %v", format, first, err)
		}
		code, mb := s.get(fmt.Sprintf("/v1/export/manifest?index_from=%d&index_to=%d", from, to), nil)
		if code != 200 {
			t.Fatalf("manifest = %d %s", code, mb)
		}
		m, err := query.ParseManifest(mb)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := query.VerifyExportManifest(m, leaves, s.verifier); err != nil {
			t.Fatalf("%s export does not verify: %v", format, err)
		}
		// A missing, or swapped, entry is caught.
		if _, err := query.VerifyExportManifest(m, leaves[1:], s.verifier); err == nil {
			t.Error("an export missing an entry verified")
		}
		bad := slices.Clone(leaves)
		bad[4], bad[5] = bad[5], bad[4]
		if _, err := query.VerifyExportManifest(m, bad, s.verifier); err == nil {
			t.Error("an export with two entries swapped verified")
		}
	}
	// A filtered CSV export has the brute-force rows.
	resp, err := http.Get(s.url + "/v1/export?kind=disbursement&transaction_type=refund")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	refunds := 0
	for _, r := range rows {
		if r.rec.GetDisbursement().GetTransactionType() == akashiv1.TransactionType_TRANSACTION_TYPE_REFUND {
			refunds++
		}
	}
	if n := bytes.Count(body, []byte("\r\n")); n != refunds+1 {
		t.Errorf("refund export has %d lines, want %d", n, refunds+1)
	}

	// Feeds and the change feed.
	code, feed := s.get("/v1/feeds/records.atom?publisher="+ds.Agencies[3].Org.GetId()+"&limit=5", nil)
	if code != 200 || !bytes.Contains(feed, []byte("<feed xmlns=\"http://www.w3.org/2005/Atom\"")) || bytes.Count(feed, []byte("<entry>")) != 5 {
		t.Errorf("feed = %d %.300s", code, feed)
	}
	var ch struct {
		Records   []struct{ Index string }
		NextSince string
	}
	if code, body := s.get("/v1/changes?since=10&page_size=5", &ch); code != 200 || len(ch.Records) != 5 || ch.Records[0].Index != "10" || ch.NextSince != "15" {
		t.Errorf("changes = %d %.300s", code, body)
	}
	code, page := s.get("/journalists/", nil)
	if code != 200 || !bytes.Contains(page, []byte("<html")) {
		t.Errorf("journalists' page = %d", code)
	}
}

func TestQueryBadParameters(t *testing.T) {
	s := startStack(t, 50)
	for _, c := range []struct{ path, param string }{
		{"/v1/records?kind=motion", "kind"},
		{"/v1/records?area=130002", "area"},
		{"/v1/records?jurisdiction=abc", "jurisdiction"},
		{"/v1/records?tag=new,edited", "tag"},
		{"/v1/records?effective_from=2020-13-01", "effective_from"},
		{"/v1/records?effective_from=2020-05-02&effective_to=2020-05-01", "effective_to"},
		{"/v1/records?recorded_to=yesterday", "recorded_to"},
		{"/v1/records?amount_min=5", "currency"},
		{"/v1/records?amount_min=abc", "amount_min"},
		{"/v1/records?currency=YEN", "currency"},
		{"/v1/records?sort=size", "sort"},
		{"/v1/records?sort=amount", "currency"},
		{"/v1/records?page_size=5000", "page_size"},
		{"/v1/records?page_token=zzz", "page_token"},
		{"/v1/records?q=%E9%87%91", "q"},
		{"/v1/records?transaction_type=gift", "transaction_type"},
		{"/v1/records?decision=nope", "decision"},
		{"/v1/records?index_from=9&index_to=3", "index_to"},
		{"/v1/aggregates?group_by=colour", "group_by"},
		{"/v1/aggregates?order=size", "order"},
		{"/v1/export?format=xlsx", "format"},
		{"/v1/export/manifest?index_from=5&index_to=1", "index_to"},
		{"/v1/feeds/records.atom?limit=1000", "limit"},
	} {
		t.Run(c.path, func(t *testing.T) {
			code, body := s.get(c.path, nil)
			if code != 400 || !strings.Contains(string(body), c.param) {
				t.Errorf("GET %s = %d %s, want 400 naming %s", c.path, code, body, c.param)
			}
		})
	}
	// The read limit says where a client stands.
	resp, err := http.Get(s.url + "/v1/records")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("RateLimit") == "" || resp.Header.Get("RateLimit-Policy") == "" {
		t.Errorf("no RateLimit headers: %v", resp.Header)
	}
	limited := false
	for range 100 {
		resp, err := http.Get(s.url + "/v1/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = resp.Header.Get("Retry-After") != ""
			break
		}
	}
	if !limited {
		t.Error("a client over its read limit was not refused with 429 and Retry-After")
	}
}
