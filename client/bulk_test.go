// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/akashi-ledger/akashi/client"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// payment returns a disbursement of the Tokyo allowance programme.
func payment(t testing.TB, id, related string, yen int64) *akashiv1.Record {
	t.Helper()
	d := &akashiv1.Disbursement{
		Programme:       &akashiv1.Programme{Code: "TKY-2020-KYORYOKUKIN-1", Title: "感染拡大防止協力金"},
		AwardId:         "award-" + id,
		TransactionType: akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT,
		Amount:          client.Yen(yen),
		ValueDate:       "2020-05-12",
		Payer:           client.Org(tokyoID, "東京都"),
		Payee:           client.PayeeOrg("JP-JCN-1180301018771", "株式会社サンプル"),
		PayeeArea:       "131041",
	}
	if related != "" {
		d.RelatedRequest = client.Ref("", related)
	}
	r := &akashiv1.Record{Id: id, ProcessId: id, Tag: akashiv1.Tag_TAG_NEW, Publisher: client.Org(tokyoID, "東京都"),
		RecordedAt: "2020-05-12T10:00:00+09:00", Body: &akashiv1.Record_Disbursement{Disbursement: d}}
	return r
}

func TestAppendAllReportsBadRowsAndKeepsTheRest(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	s := e.agency(tokyoID, "東京都", client.SignerOptions{})
	var records []*akashiv1.Record
	want := map[int]string{} // position → what its refusal names
	for i := range 300 {
		r := payment(t, fmt.Sprintf("pay-%03d", i), "", 500000)
		switch i {
		case 7: // invalid: refused before sending
			r.GetDisbursement().Amount.MinorUnits = -5
			want[i] = "record.disbursement.amount.minor_units"
		case 100: // valid, but cites a request the log does not hold
			r.GetDisbursement().RelatedRequest = client.Ref("", "no-such-request")
			want[i] = "related_request"
		case 200: // an id used before, with other content
			r = payment(t, "pay-150", "", 1000000)
			want[i] = "record.id"
		}
		records = append(records, r)
	}
	before := e.size()
	var reported atomic.Int64
	results, err := s.AppendAll(ctx, records, client.BulkOptions{Window: 64, Round: 128, OnResult: func(int, client.Result) { reported.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if reported.Load() != int64(len(records)) {
		t.Errorf("OnResult called %d times, want %d", reported.Load(), len(records))
	}
	indexes := map[uint64]bool{}
	for i, r := range results {
		if w, bad := want[i]; bad {
			if r.Err == nil || !strings.Contains(r.Err.Error(), w) {
				t.Errorf("record %d: %v, want a refusal naming %q", i, r.Err, w)
			}
			continue
		}
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
		if indexes[r.Receipt.Index] {
			t.Fatalf("record %d: index %d given twice", i, r.Receipt.Index)
		}
		indexes[r.Receipt.Index] = true
	}
	var fe *record.FieldError
	if !errors.As(results[7].Err, &fe) {
		t.Errorf("the invalid record's error %v is not a record.FieldError", results[7].Err)
	}
	if status.Code(results[200].Err) != codes.AlreadyExists {
		t.Errorf("the conflicting record's error %v, want AlreadyExists", results[200].Err)
	}
	if got, wantSize := e.size(), before+uint64(len(records)-len(want)); got != wantSize {
		t.Fatalf("log size %d, want %d: only the good records are stored", got, wantSize)
	}

	// Appending the same records again (a resumed import) finds them in
	// the log: each good one gets its original entry's receipt.
	again, err := s.AppendAll(ctx, records, client.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if _, bad := want[i]; bad {
			continue
		}
		if r.Err != nil || !r.Receipt.Existing || r.Receipt.Index != results[i].Receipt.Index {
			t.Fatalf("record %d again: %+v, want the receipt of entry %d", i, r, results[i].Receipt.Index)
		}
	}
	if got := e.size(); got != before+uint64(len(records)-len(want)) {
		t.Fatalf("log size %d after appending again", got)
	}
	// The signer's chain is intact: one more record goes straight in.
	if _, err := s.Append(ctx, payment(t, "pay-last", "", 500000)); err != nil {
		t.Fatal(err)
	}
}
