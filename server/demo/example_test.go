// SPDX-License-Identifier: Apache-2.0

package demo_test

import (
	"crypto/ed25519"
	"fmt"

	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/server/demo"
)

// Generate a small dataset and follow the money from the decision to the
// payments.
func Example() {
	gov := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // demo only
	d, err := demo.Generate(demo.Options{
		Origin:        "demo.akashi.example/log",
		Seed:          1,
		Disbursements: 100,
		Governance:    gov,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(d.Agencies), "agency keys,", len(d.Governance), "registrations,", len(d.Records), "records")

	kinds := map[string]int{}
	paid := map[string]int64{} // by payer
	for i, ss := range d.Records {
		st := &akashiv1.Statement{}
		if err := proto.Unmarshal(ss.Statement, st); err != nil {
			panic(err)
		}
		r := st.GetRecord()
		switch {
		case r.GetDecision() != nil:
			kinds["decision"]++
		case r.GetRequest() != nil:
			kinds["request"]++
		case r.GetDisbursement() != nil:
			kinds["disbursement"]++
		}
		if i < 3 {
			fmt.Println(r.RecordedAt, r.Publisher.Name, r.Id, r.Tag)
		}
		if x := r.GetDisbursement(); x != nil && r.Tag == akashiv1.Tag_TAG_NEW &&
			x.TransactionType == akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT {
			paid[x.Payer.Name] += x.Amount.MinorUnits
		}
	}
	fmt.Println(kinds)
	fmt.Println("paid (yen, before corrections and refunds):", paid)
	// Output:
	// 4 agency keys, 4 registrations, 122 records
	// 2020-04-07T19:00:00+09:00 新型コロナウイルス感染症対策本部 covid-hq-2020-0001 TAG_NEW
	// 2020-04-10T17:00:00+09:00 東京都 tokyo-krk-2020-0001 TAG_NEW
	// 2020-04-10T18:00:00+09:00 東京都 tokyo-req-2020-0001 TAG_NEW
	// map[decision:6 disbursement:112 request:4]
	// paid (yen, before corrections and refunds): map[大阪府:7000000 東京都:67000000]
}
