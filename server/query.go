// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/query"
)

// Deadlines of the query API.
const (
	// QueryTimeout bounds a search, a process, a money trail or a page of
	// changes.
	QueryTimeout = 10 * time.Second
	// AggregateTimeout bounds an aggregation.
	AggregateTimeout = 30 * time.Second
	// MaxFeedEntries bounds an Atom feed.
	MaxFeedEntries = 200
)

// TreeSizeHeader is the gRPC header (and HTTP response header) naming the
// tree size an export reflects.
const TreeSizeHeader = "akashi-tree-size"

// QueryServer implements akashiv1.QueryServiceServer.
type QueryServer struct {
	akashiv1.UnimplementedQueryServiceServer
	e    *query.Engine
	f    *query.Follower
	slog *slog.Logger
}

// NewQuery returns the query service of a log opened with Hook, and
// starts the follower that keeps its index (query.Follower): answers
// reflect the latest tree it covers, which lags the log by a fraction of
// a second when the log is busy. Close stops it: call Close before
// closing l.
func NewQuery(ctx context.Context, l *ledger.Log, logger *slog.Logger) (*QueryServer, error) {
	if logger == nil {
		logger = slog.Default()
	}
	dir := directory{log: l}
	f, err := query.StartFollower(ctx, l, query.FollowerOptions{Records: dir, Logger: logger})
	if err != nil {
		return nil, err
	}
	return &QueryServer{e: query.NewEngine(l, dir, f), f: f, slog: logger}, nil
}

// Close stops the follower that keeps the index, and waits for it.
func (q *QueryServer) Close() error { return q.f.Close() }

// WaitIndexed waits until answers reflect a tree of at least size
// entries, or ctx ends.
func (q *QueryServer) WaitIndexed(ctx context.Context, size uint64) error {
	return q.f.Wait(ctx, size)
}

// Engine returns the query engine.
func (q *QueryServer) Engine() *query.Engine { return q.e }

// status maps a query error to a gRPC status.
func (q *QueryServer) status(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, query.ErrInvalid):
		err = fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.Is(err, query.ErrNotFound):
		err = fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return toStatus(ctx, q.slog, err)
}

// paramsOf reads the filter fields every query request has.
func paramsOf(m proto.Message) query.Params {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields()
	strs := func(name protoreflect.Name) []string {
		l := r.Get(fd.ByName(name)).List()
		out := make([]string, l.Len())
		for i := range out {
			out[i] = l.Get(i).String()
		}
		return out
	}
	str := func(name protoreflect.Name) string { return r.Get(fd.ByName(name)).String() }
	i64 := func(name protoreflect.Name) *int64 {
		if f := fd.ByName(name); r.Has(f) {
			v := r.Get(f).Int()
			return &v
		}
		return nil
	}
	u64 := func(name protoreflect.Name) *uint64 {
		if f := fd.ByName(name); r.Has(f) {
			v := r.Get(f).Uint()
			return &v
		}
		return nil
	}
	return query.Params{
		Kind: strs("kind"), Publisher: strs("publisher"), Jurisdiction: strs("jurisdiction"), Area: strs("area"),
		Programme: strs("programme"), Payee: strs("payee"), LegalBasis: strs("legal_basis"), Tag: strs("tag"),
		Decision: strs("decision"), Request: strs("request"), TransactionType: strs("transaction_type"),
		EffectiveFrom: str("effective_from"), EffectiveTo: str("effective_to"), RecordedFrom: str("recorded_from"), RecordedTo: str("recorded_to"),
		AmountMin: i64("amount_min"), AmountMax: i64("amount_max"), Currency: str("currency"), Q: str("q"),
		IndexFrom: u64("index_from"), IndexTo: u64("index_to"), Current: r.Get(fd.ByName("current")).Bool(),
	}
}

// urlQuery writes the filter fields of m as URL parameters.
func urlQuery(m proto.Message) url.Values {
	v := url.Values{}
	r := m.ProtoReflect()
	r.Range(func(f protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		name := string(f.Name())
		switch {
		case f.IsList():
			for i := range val.List().Len() {
				v.Add(name, val.List().Get(i).String())
			}
		default:
			v.Set(name, fmt.Sprint(val.Interface()))
		}
		return true
	})
	return v
}

func (q *QueryServer) filter(m proto.Message) (*query.Filter, error) {
	return query.Parse(paramsOf(m), q.e.Resolver())
}

func hitProto(h query.Hit, size uint64) *akashiv1.RecordHit {
	out := &akashiv1.RecordHit{
		Index:          h.Entry.Index,
		LeafHash:       h.Entry.LeafHash[:],
		ProofUrl:       query.ProofURL(h.Entry.Index, size),
		Current:        h.Current,
		IntegratedAt:   h.Entry.Parsed.IntegrationTime().Format(time.RFC3339Nano),
		Record:         h.Record,
		WithheldReason: h.Entry.Withheld,
	}
	if h.Record != nil {
		out.Kind = kindName(h.Record)
	}
	return out
}

func kindName(r *akashiv1.Record) string {
	switch {
	case r.GetDecision() != nil:
		return "decision"
	case r.GetRequest() != nil:
		return "request"
	case r.GetDisbursement() != nil:
		return "disbursement"
	}
	return ""
}

func totalsProto(ts []query.Total) []*akashiv1.MoneyTotal {
	out := make([]*akashiv1.MoneyTotal, len(ts))
	for i, t := range ts {
		out[i] = &akashiv1.MoneyTotal{Currency: t.Currency, Disbursed: t.Disbursed, Refunded: t.Refunded, ClawedBack: t.ClawedBack, Net: t.Net, Committed: t.Committed, Count: t.Count}
	}
	return out
}

func (q *QueryServer) hits(ctx context.Context, snap query.Snapshot, rows []uint64) ([]*akashiv1.RecordHit, error) {
	hs, err := q.e.Hits(ctx, snap, rows)
	if err != nil {
		return nil, err
	}
	out := make([]*akashiv1.RecordHit, len(hs))
	for i, h := range hs {
		out[i] = hitProto(h, snap.Size)
	}
	return out, nil
}

// SearchRecords implements akashiv1.QueryServiceServer.
func (q *QueryServer) SearchRecords(ctx context.Context, req *akashiv1.SearchRecordsRequest) (*akashiv1.SearchRecordsResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	resp, err := q.search(ctx, req)
	return resp, q.status(ctx, err)
}

func (q *QueryServer) search(ctx context.Context, req *akashiv1.SearchRecordsRequest) (*akashiv1.SearchRecordsResponse, error) {
	f, err := q.filter(req)
	if err != nil {
		return nil, err
	}
	o, err := query.ParseSort(req.GetSort(), f)
	if err != nil {
		return nil, err
	}
	n, err := query.CheckPageSize("page_size", req.GetPageSize(), query.DefaultPageSize, query.MaxPageSize)
	if err != nil {
		return nil, err
	}
	p, err := q.e.Search(ctx, f, o, n, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	hits, err := q.hits(ctx, p.Snapshot, p.Rows)
	if err != nil {
		return nil, err
	}
	return &akashiv1.SearchRecordsResponse{Hits: hits, NextPageToken: p.Next, Total: p.Total, TreeSize: p.Size, Checkpoint: string(p.Checkpoint)}, nil
}

// GetProcess implements akashiv1.QueryServiceServer.
func (q *QueryServer) GetProcess(ctx context.Context, req *akashiv1.GetProcessRequest) (*akashiv1.GetProcessResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	if req.GetProcessId() == "" {
		return nil, q.status(ctx, invalid("process_id", `""`, "a process id"))
	}
	p, err := q.e.Process(ctx, req.GetProcessId(), req.GetPublisher())
	if err != nil {
		return nil, q.status(ctx, err)
	}
	resp := &akashiv1.GetProcessResponse{Publisher: p.Publisher, ProcessId: p.ID, Compiled: p.Compiled, Withdrawn: p.Withdrawn,
		WithdrawalRationale: p.WithdrawalRationale, TreeSize: p.Size, Checkpoint: string(p.Checkpoint)}
	for _, v := range p.Versions {
		resp.Versions = append(resp.Versions, &akashiv1.ProcessVersion{Hit: hitProto(v.Hit, p.Size), ChangedFields: v.Changed})
	}
	return resp, nil
}

// FollowDecision implements akashiv1.QueryServiceServer.
func (q *QueryServer) FollowDecision(ctx context.Context, req *akashiv1.FollowDecisionRequest) (*akashiv1.FollowDecisionResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	if req.GetId() == "" {
		return nil, q.status(ctx, invalid("id", `""`, "a decision's record id"))
	}
	r, err := q.e.FollowDecision(ctx, req.GetId(), req.GetPublisher())
	if err != nil {
		return nil, q.status(ctx, err)
	}
	resp := &akashiv1.FollowDecisionResponse{Decision: hitProto(r.Decision, r.Size), Totals: totalsProto(r.Totals), TreeSize: r.Size, Checkpoint: string(r.Checkpoint)}
	for _, fr := range r.Requests {
		v := url.Values{"kind": {"disbursement"}}
		for _, ref := range fr.Refs {
			v.Add("request", ref)
		}
		resp.Requests = append(resp.Requests, &akashiv1.FollowedRequest{Request: hitProto(fr.Request, r.Size), Totals: totalsProto(fr.Totals), DisbursementsUrl: "/v1/records?" + v.Encode()})
	}
	return resp, nil
}

// FollowPayee implements akashiv1.QueryServiceServer.
func (q *QueryServer) FollowPayee(ctx context.Context, req *akashiv1.FollowPayeeRequest) (*akashiv1.FollowPayeeResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	resp, err := q.followPayee(ctx, req)
	return resp, q.status(ctx, err)
}

func (q *QueryServer) followPayee(ctx context.Context, req *akashiv1.FollowPayeeRequest) (*akashiv1.FollowPayeeResponse, error) {
	n, err := query.CheckPageSize("page_size", req.GetPageSize(), query.DefaultPageSize, query.MaxPageSize)
	if err != nil {
		return nil, err
	}
	r, err := q.e.FollowPayee(ctx, req.GetPayee(), n, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	hits, err := q.hits(ctx, r.Snapshot, r.Rows)
	if err != nil {
		return nil, err
	}
	return &akashiv1.FollowPayeeResponse{Payee: req.GetPayee(), Disbursements: hits, Totals: totalsProto(r.Totals), NextPageToken: r.Next, TreeSize: r.Size, Checkpoint: string(r.Checkpoint)}, nil
}

// Aggregate implements akashiv1.QueryServiceServer.
func (q *QueryServer) Aggregate(ctx context.Context, req *akashiv1.AggregateRequest) (*akashiv1.AggregateResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, AggregateTimeout)
	defer cancel()
	resp, err := q.aggregate(ctx, req)
	return resp, q.status(ctx, err)
}

func (q *QueryServer) aggregate(ctx context.Context, req *akashiv1.AggregateRequest) (*akashiv1.AggregateResponse, error) {
	f, err := q.filter(req)
	if err != nil {
		return nil, err
	}
	dims, err := query.CheckGroupBy(req.GetGroupBy())
	if err != nil {
		return nil, err
	}
	byNet := false
	switch req.GetOrder() {
	case "", "key":
	case "-net":
		byNet = true
	default:
		return nil, invalid("order", strconv.Quote(req.GetOrder()), "key or -net")
	}
	limit, err := query.CheckPageSize("limit", req.GetLimit(), query.DefaultGroups, query.MaxGroups)
	if err != nil {
		return nil, err
	}
	a, err := q.e.Aggregate(ctx, f, dims, byNet, limit)
	if err != nil {
		return nil, err
	}
	resp := &akashiv1.AggregateResponse{GroupBy: dims, Truncated: a.Truncated, TotalGroups: uint64(a.TotalGroups), Totals: totalsProto(a.Totals), TreeSize: a.Size, Checkpoint: string(a.Checkpoint)}
	for _, g := range a.Groups {
		resp.Groups = append(resp.Groups, &akashiv1.AggregateGroup{Key: g.Key, Total: totalsProto([]query.Total{g.Total})[0]})
	}
	return resp, nil
}

// ListChanges implements akashiv1.QueryServiceServer.
func (q *QueryServer) ListChanges(ctx context.Context, req *akashiv1.ListChangesRequest) (*akashiv1.ListChangesResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	resp, err := q.changes(ctx, req)
	return resp, q.status(ctx, err)
}

func (q *QueryServer) changes(ctx context.Context, req *akashiv1.ListChangesRequest) (*akashiv1.ListChangesResponse, error) {
	p := paramsOf(req)
	since := req.GetSince()
	if p.IndexFrom != nil {
		since = max(since, *p.IndexFrom)
	}
	p.IndexFrom = &since
	f, err := query.Parse(p, q.e.Resolver())
	if err != nil {
		return nil, err
	}
	n, err := query.CheckPageSize("page_size", req.GetPageSize(), query.DefaultPageSize, query.MaxPageSize)
	if err != nil {
		return nil, err
	}
	pg, err := q.e.Search(ctx, f, query.Sort{Field: 'i'}, n, "")
	if err != nil {
		return nil, err
	}
	hits, err := q.hits(ctx, pg.Snapshot, pg.Rows)
	if err != nil {
		return nil, err
	}
	next := pg.Size
	if pg.Next != "" && len(pg.Rows) > 0 {
		next = pg.Rows[len(pg.Rows)-1] + 1
	}
	next = max(next, since)
	return &akashiv1.ListChangesResponse{Records: hits, NextSince: next, TreeSize: pg.Size, Checkpoint: string(pg.Checkpoint)}, nil
}

// chunkWriter sends what is written as HttpBody messages of about 64 KiB.
type chunkWriter struct {
	send        func(*httpbody.HttpBody) error
	contentType string
}

func (w chunkWriter) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += 64 << 10 {
		end := min(len(p), off+64<<10)
		if err := w.send(&httpbody.HttpBody{ContentType: w.contentType, Data: p[off:end]}); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// ExportContentType returns the content type of an export format.
func ExportContentType(format string) string {
	if format == "ndjson" {
		return "application/x-ndjson"
	}
	return "text/csv; charset=utf-8"
}

// Export implements akashiv1.QueryServiceServer. It streams: memory use
// does not grow with the export's size.
func (q *QueryServer) Export(req *akashiv1.ExportRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	ctx := stream.Context()
	f, err := q.filter(req)
	if err != nil {
		return q.status(ctx, err)
	}
	w := chunkWriter{send: stream.Send, contentType: ExportContentType(req.GetFormat())}
	err = q.e.Export(ctx, f, req.GetFormat(), w, func(s query.Snapshot) error {
		return stream.SendHeader(metadata.Pairs(TreeSizeHeader, strconv.FormatUint(s.Size, 10)))
	})
	return q.status(ctx, err)
}

// GetExportManifest implements akashiv1.QueryServiceServer.
func (q *QueryServer) GetExportManifest(ctx context.Context, req *akashiv1.GetExportManifestRequest) (*httpbody.HttpBody, error) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	m, err := q.e.ExportManifest(ctx, req.GetIndexFrom(), req.GetIndexTo())
	if err != nil {
		return nil, q.status(ctx, err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, q.status(ctx, err)
	}
	return &httpbody.HttpBody{ContentType: "application/json", Data: append(b, '\n')}, nil
}

// GetFeed implements akashiv1.QueryServiceServer.
func (q *QueryServer) GetFeed(ctx context.Context, req *akashiv1.GetFeedRequest) (*httpbody.HttpBody, error) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	f, err := q.filter(req)
	if err != nil {
		return nil, q.status(ctx, err)
	}
	n, err := query.CheckPageSize("limit", req.GetLimit(), query.DefaultPageSize, MaxFeedEntries)
	if err != nil {
		return nil, q.status(ctx, err)
	}
	self := "/v1/feeds/records.atom"
	if v := urlQuery(req).Encode(); v != "" {
		self += "?" + v
	}
	b, _, err := q.e.Feed(ctx, f, n, self, "")
	if err != nil {
		return nil, q.status(ctx, err)
	}
	return &httpbody.HttpBody{ContentType: "application/atom+xml; charset=utf-8", Data: b}, nil
}
