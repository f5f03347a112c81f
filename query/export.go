// SPDX-License-Identifier: Apache-2.0

package query

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
)

// Exports.
//
// CSV: UTF-8 with a byte-order mark (so spreadsheet software reads it as
// UTF-8), CRLF line ends, a header row ([CSVColumns]), one row per record.
// Cells that would start with = + - @ are prefixed with ' so that no
// spreadsheet reads them as formulas. Amounts are given in major units
// (amount) and minor units (minor_units).
//
// NDJSON: one JSON object per line:
//
//	{"index":…,"leaf_hash":"<hex>","header":"<base64>","payload":"<base64>",
//	 "withheld_reason":"…","current":true,"proof_url":"…","record":{…}}
//
// header and payload are the entry's exact bytes, so each line can be
// checked against its leaf hash and, with a manifest, against the log.

// CSVColumns are the columns of a CSV export.
var CSVColumns = []string{
	"index", "leaf_hash", "record_id", "process_id", "tag", "kind", "current",
	"publisher_id", "publisher_name", "jurisdiction", "recorded_at", "effective_date",
	"title", "programme_code", "programme_title", "award_id", "transaction_type",
	"amount", "currency", "minor_units", "payee_id", "payee_name", "payee_area",
	"facility_count", "basis_decision", "related_request", "amends", "areas",
	"legal_basis", "withheld_reason", "proof_url",
}

// ProofURL returns the path of an entry's inclusion proof in a tree.
func ProofURL(index, size uint64) string {
	return fmt.Sprintf("/v1/proofs/inclusion?index=%d&tree_size=%d", index, size)
}

// Title returns a record's title, or a description of a disbursement.
func Title(r *akashiv1.Record) string {
	switch {
	case r.GetDecision() != nil:
		return r.GetDecision().GetTitle()
	case r.GetRequest() != nil:
		return r.GetRequest().GetTitle()
	case r.GetDisbursement() != nil:
		d := r.GetDisbursement()
		payee := d.GetPayee().GetOrganization().GetName()
		if payee == "" {
			payee = PayeeID(r)
		}
		return fmt.Sprintf("%s: %s %s → %s", strings.TrimPrefix(d.GetTransactionType().String(), "TRANSACTION_TYPE_"), FormatAmount(d.GetAmount().GetMinorUnits(), d.GetAmount().GetCurrency()), d.GetAmount().GetCurrency(), payee)
	}
	return ""
}

// FormatAmount writes minor units in major units: 150 USD cents → "1.50".
func FormatAmount(minor int64, currency string) string {
	exp, err := record.CurrencyExponent(currency)
	if err != nil || exp == 0 {
		return strconv.FormatInt(minor, 10)
	}
	s := strconv.FormatInt(minor, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for len(s) <= exp {
		s = "0" + s
	}
	s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	if neg {
		s = "-" + s
	}
	return s
}

func refString(pub string, r *akashiv1.RecordRef) string {
	if r == nil {
		return ""
	}
	p := r.GetPublisher()
	if p == "" {
		p = pub
	}
	return p + "/" + r.GetId()
}

func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvRow(h Hit, size uint64, row []string) []string {
	r := h.Record
	pub := r.GetPublisher().GetId()
	kind, _ := record.KindOf(r)
	kindName := ""
	if r != nil {
		kindName = kind.String()
	}
	d := r.GetDisbursement()
	amount, minor, currency, tt, count := "", "", "", "", ""
	if d != nil {
		currency = d.GetAmount().GetCurrency()
		amount = FormatAmount(d.GetAmount().GetMinorUnits(), currency)
		minor = strconv.FormatInt(d.GetAmount().GetMinorUnits(), 10)
		tt = strings.ToLower(strings.TrimPrefix(d.GetTransactionType().String(), "TRANSACTION_TYPE_"))
		if d.GetFacilityCount() > 0 {
			count = strconv.FormatUint(uint64(d.GetFacilityCount()), 10)
		}
	}
	var laws []string
	for _, lb := range r.GetLegalBasis() {
		s := lb.GetLawId()
		if lb.GetArticle() != "" {
			s += ":" + lb.GetArticle()
		}
		laws = append(laws, s)
	}
	eff := ""
	if ed, ok := EffectiveDate(r); ok && r != nil {
		eff = ed.String()
	}
	tag := ""
	if r != nil {
		tag = strings.ToLower(strings.TrimPrefix(r.GetTag().String(), "TAG_"))
	}
	row = append(row[:0],
		strconv.FormatUint(h.Entry.Index, 10), hex.EncodeToString(h.Entry.LeafHash[:]), r.GetId(), r.GetProcessId(), tag, kindName, strconv.FormatBool(h.Current),
		pub, r.GetPublisher().GetName(), r.GetJurisdiction(), r.GetRecordedAt(), eff,
		Title(r), d.GetProgramme().GetCode(), d.GetProgramme().GetTitle(), d.GetAwardId(), tt,
		amount, currency, minor, PayeeID(r), d.GetPayee().GetOrganization().GetName(), d.GetPayeeArea(),
		count, refString(pub, r.GetRequest().GetBasisDecision()), refString(pub, d.GetRelatedRequest()), r.GetAmends(), strings.Join(Areas(r), " "),
		strings.Join(laws, " "), h.Entry.Withheld, ProofURL(h.Entry.Index, size))
	for i := range row {
		if i != 0 && i != 17 && i != 19 {
			row[i] = cell(row[i])
		}
	}
	return row
}

// exportBatch is a run of entries an export formats at once.
type exportBatch struct {
	entries []ledger.Entry
	out     bytes.Buffer
	done    chan struct{}
}

// exportBatchSize is the number of entries of an exportBatch.
const exportBatchSize = 256

var batchPool = sync.Pool{New: func() any { return new(exportBatch) }}

// Export writes the records matching f to w, in log order, as "csv" or
// "ndjson", for the latest tree the index covers (an index range that
// ends beyond it waits for the index, up to [ExportWait]). It calls start
// with the snapshot before writing anything. Entries are read in order
// and formatted on every core, and written in order as they are ready:
// memory use does not grow with the export.
func (e *Engine) Export(ctx context.Context, f *Filter, format string, w io.Writer, start func(Snapshot) error) error {
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "ndjson" {
		return bad("format", format, "csv or ndjson")
	}
	snap, err := e.Head(ctx)
	if err != nil {
		return err
	}
	if f.IndexTo != nil && *f.IndexTo > snap.Size && e.fol != nil {
		if want := min(*f.IndexTo, e.log.Size()); want > snap.Size {
			wctx, cancel := context.WithTimeout(ctx, ExportWait)
			err := e.fol.Wait(wctx, want)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return bad("index_to", strconv.FormatUint(*f.IndexTo, 10), fmt.Sprintf("at most %d, the tree size the index covers now (retry shortly)", snap.Size))
			}
			if snap, err = e.Head(ctx); err != nil {
				return err
			}
		}
	}
	var from, to uint64 = 0, snap.Size
	if f.IndexFrom != nil {
		from = min(*f.IndexFrom, to)
	}
	if f.IndexTo != nil {
		to = min(*f.IndexTo, to)
	}
	plain := len(f.Terms) == 0 && !f.needsFacts() && !f.Current
	var r *set
	if !plain {
		if r, err = e.Match(ctx, snap, f); err != nil {
			return err
		}
	}
	sup, err := e.superseded(ctx, snap.Size)
	if err != nil {
		return err
	}
	if err := start(snap); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *exportBatch, 2*workers)
	queue := make(chan *exportBatch, 2*workers)
	// The reader: entries in order, in batches.
	var readErr error
	go func() {
		defer close(queue)
		defer close(work)
		b := batchPool.Get().(*exportBatch)
		send := func() error {
			if len(b.entries) == 0 {
				return nil
			}
			b.done = make(chan struct{})
			select {
			case queue <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case work <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			b = batchPool.Get().(*exportBatch)
			return nil
		}
		add := func(en ledger.Entry) error {
			b.entries = append(b.entries, en)
			if len(b.entries) == exportBatchSize {
				return send()
			}
			return nil
		}
		switch {
		case plain:
			readErr = e.log.Entries(ctx, from, to, add)
		case r.len() == 0:
		default:
			lo, _ := r.first()
			hi, _ := r.last()
			if uint64(r.len())*8 >= uint64(hi-lo) {
				readErr = e.log.Entries(ctx, uint64(lo), uint64(hi)+1, func(en ledger.Entry) error {
					if !r.has(uint32(en.Index)) {
						return nil
					}
					return add(en)
				})
			} else {
				r.ascend(0, func(i uint32) bool {
					var en ledger.Entry
					if en, readErr = e.log.Entry(ctx, uint64(i)); readErr == nil {
						readErr = add(en)
					}
					return readErr == nil
				})
			}
		}
		if readErr == nil {
			readErr = send()
		}
	}()
	// The formatters.
	var wg sync.WaitGroup
	defer wg.Wait()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cw *csv.Writer
			var row []string
			for b := range work {
				b.out.Reset()
				if format == "csv" {
					cw = csv.NewWriter(&b.out)
					cw.UseCRLF = true
				}
				for _, en := range b.entries {
					rec := decodeRecord(en.Payload)
					_, s := sup[uint32(en.Index)]
					h := Hit{Entry: en, Record: rec, Current: !s}
					if cw != nil {
						row = csvRow(h, snap.Size, row)
						if rec == nil && en.Withheld == "" { // a governance statement: its leaf, for the manifest
							row[5] = "governance"
						}
						cw.Write(row)
					} else {
						writeNDJSON(&b.out, h, snap.Size)
					}
				}
				if cw != nil {
					cw.Flush()
				}
				close(b.done)
			}
		}()
	}
	// The writer, in order.
	bw := bufio.NewWriterSize(w, 64<<10)
	var werr error
	if format == "csv" {
		bw.WriteString("\ufeff")
		cw := csv.NewWriter(bw)
		cw.UseCRLF = true
		cw.Write(CSVColumns)
		cw.Flush()
	}
	for b := range queue {
		select {
		case <-b.done:
		case <-ctx.Done():
			continue // a formatter may still hold it
		}
		if werr == nil {
			if _, werr = bw.Write(b.out.Bytes()); werr != nil {
				cancel()
			}
		}
		if b.out.Cap() <= 1<<20 {
			b.entries = b.entries[:0]
			b.out.Reset()
			batchPool.Put(b)
		}
	}
	// queue is closed: the reader is done, and every batch it sent was
	// formatted (or the export was cancelled).
	if werr != nil {
		return werr
	}
	if readErr != nil {
		return readErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

// ExportWait bounds how long an export of an index range waits for the
// index to cover it.
const ExportWait = 30 * time.Second

var jsonRecord = protojson.MarshalOptions{UseProtoNames: true}

func writeNDJSON(w *bytes.Buffer, h Hit, size uint64) error {
	line := struct {
		Index    uint64          `json:"index"`
		LeafHash string          `json:"leaf_hash"`
		Header   []byte          `json:"header"`
		Payload  []byte          `json:"payload,omitempty"`
		Withheld string          `json:"withheld_reason,omitempty"`
		Current  bool            `json:"current"`
		Proof    string          `json:"proof_url"`
		Record   json.RawMessage `json:"record,omitempty"`
	}{Index: h.Entry.Index, LeafHash: hex.EncodeToString(h.Entry.LeafHash[:]), Header: h.Entry.Header, Payload: h.Entry.Payload,
		Withheld: h.Entry.Withheld, Current: h.Current, Proof: ProofURL(h.Entry.Index, size)}
	if h.Record != nil {
		b, err := jsonRecord.Marshal(h.Record)
		if err != nil {
			return err
		}
		line.Record = b
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}

var _ = base64.StdEncoding // the NDJSON header and payload are base64 ([]byte in encoding/json)

// Atom feeds (RFC 4287).

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomEntry struct {
	Title   string     `xml:"title"`
	ID      string     `xml:"id"`
	Updated string     `xml:"updated"`
	Links   []atomLink `xml:"link"`
	Author  string     `xml:"author>name"`
	Summary string     `xml:"summary"`
}

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  string      `xml:"author>name"`
	Rights  string      `xml:"rights"`
	Entries []atomEntry `xml:"entry"`
}

// Feed writes an Atom feed of the newest records matching f. self is the
// feed's own path and query, base the server's URL ("" for relative links).
func (e *Engine) Feed(ctx context.Context, f *Filter, limit int, self, base string) ([]byte, Snapshot, error) {
	p, err := e.Search(ctx, f, Sort{Field: 'i', Desc: true}, limit, "")
	if err != nil {
		return nil, Snapshot{}, err
	}
	hits, err := e.Hits(ctx, p.Snapshot, p.Rows)
	if err != nil {
		return nil, Snapshot{}, err
	}
	feed := atomFeed{
		Title:   "Akashi: " + e.log.Origin(),
		ID:      "tag:" + e.log.Origin() + ",2020:feed:" + self,
		Updated: time.Unix(0, 0).UTC().Format(time.RFC3339),
		Links:   []atomLink{{Href: base + self, Rel: "self", Type: "application/atom+xml"}},
		Author:  e.log.Origin(),
		Rights:  "Records: CC-BY-4.0 unless a record says otherwise",
	}
	for i, h := range hits {
		updated := h.Entry.Parsed.IntegrationTime().UTC().Format(time.RFC3339)
		if i == 0 {
			feed.Updated = updated
		}
		r := h.Record
		title := Title(r)
		if r == nil {
			title = fmt.Sprintf("Entry %d (withheld)", h.Entry.Index)
		}
		link := fmt.Sprintf("%s/v1/records/%s?publisher=%s", base, r.GetId(), r.GetPublisher().GetId())
		feed.Entries = append(feed.Entries, atomEntry{
			Title:   title,
			ID:      fmt.Sprintf("tag:%s,2020:entry:%d", e.log.Origin(), h.Entry.Index),
			Updated: updated,
			Links:   []atomLink{{Href: link, Rel: "alternate"}, {Href: base + ProofURL(h.Entry.Index, p.Size), Rel: "related"}},
			Author:  r.GetPublisher().GetName() + " " + r.GetPublisher().GetId(),
			Summary: fmt.Sprintf("%s %s, log index %d, leaf hash %x. %s", r.GetTag(), r.GetId(), h.Entry.Index, h.Entry.LeafHash, TextOf(r)),
		})
	}
	b, err := xml.MarshalIndent(feed, "", " ")
	if err != nil {
		return nil, Snapshot{}, err
	}
	return append([]byte(xml.Header), b...), p.Snapshot, nil
}
