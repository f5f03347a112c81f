// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// Record ids the other records cite.
const (
	hqDeclID       = "covid-hq-2020-0001" // the declaration of 2020-04-07
	hqExtensionID  = "covid-hq-2020-0003" // its extension to 2020-05-31
	tokyoKRKID     = "tokyo-krk-2020-0001"
	tokyoReqID     = "tokyo-req-2020-0001"
	osakaReqID     = "osaka-req-2020-0001"
	osakaShienkin  = "osaka-shienkin-2020-0001"
	tokyoReqAmend  = "tokyo-req-2020-0002"
	osakaReqUpdate = "osaka-req-2020-0002"
)

// declarationPrefectures are the prefectures of the declaration of
// 2020-04-07, by JIS X 0401 number: Saitama, Chiba, Tokyo, Kanagawa,
// Osaka, Hyogo, Fukuoka.
var declarationPrefectures = []int{11, 12, 13, 14, 27, 28, 40}

// national makes the headquarters' declaration and its three updates.
func (g *gen) national() error {
	var first, all []string
	for _, n := range declarationPrefectures {
		p, ok := record.PrefectureByNumber(n)
		if !ok {
			return fmt.Errorf("demo: no prefecture %d", n)
		}
		first = append(first, p.Code)
	}
	for _, p := range record.Prefectures() {
		all = append(all, p.Code)
	}
	decision := func(desc, end string, areas []string, status akashiv1.DecisionStatus) *akashiv1.Record_Decision {
		return &akashiv1.Record_Decision{Decision: &akashiv1.Decision{
			Title:        "新型コロナウイルス感染症緊急事態宣言",
			Description:  desc,
			Type:         akashiv1.DecisionType_DECISION_TYPE_EMERGENCY_DECLARATION,
			DecidedBy:    "新型コロナウイルス感染症対策本部長（内閣総理大臣）",
			DecisionDate: "2020-04-07",
			Period:       period("2020-04-07", end),
			Areas:        areas,
			Status:       status,
		}}
	}
	const (
		sengen = "https://www.cas.go.jp/jp/influenza/pdf/"
		law    = "新型インフルエンザ等対策特別措置法第32条第1項に基づき"
	)
	g.add(keyHQ, at(2020, time.April, 7, 19, 0), &akashiv1.Record{
		Id: hqDeclID, ProcessId: hqDeclProcess, Tag: akashiv1.Tag_TAG_NEW,
		EffectiveDate: "2020-04-07",
		LegalBasis:    []*akashiv1.LegalBasis{tokusoho("32")},
		Documents:     []*akashiv1.Document{doc(sengen+"20200407_kinkyujitai_sengen.pdf", "新型コロナウイルス感染症緊急事態宣言（令和2年4月7日）")},
		Body: decision(law+"、埼玉県、千葉県、東京都、神奈川県、大阪府、兵庫県及び福岡県の区域に緊急事態を宣言する。期間は令和2年4月7日から5月6日まで。"+
			" A state of emergency is declared under Article 32(1) of the Act on Special Measures for Saitama, Chiba, Tokyo, Kanagawa, Osaka, Hyogo and Fukuoka from 7 April to 6 May 2020.",
			"2020-05-06", first, akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE),
	})
	g.add(keyHQ, at(2020, time.April, 16, 20, 0), &akashiv1.Record{
		Id: "covid-hq-2020-0002", ProcessId: hqDeclProcess, Tag: akashiv1.Tag_TAG_UPDATE,
		Amends: hqDeclID, Rationale: "区域を全都道府県に拡大（4月16日）。Extended to all 47 prefectures on 16 April 2020.",
		EffectiveDate: "2020-04-16",
		LegalBasis:    []*akashiv1.LegalBasis{tokusoho("32(3)")},
		Documents:     []*akashiv1.Document{doc(sengen+"20200416_kinkyujitai_kuiki_henko.pdf", "緊急事態宣言の区域変更（令和2年4月16日）")},
		Body: decision(law+"宣言した緊急事態について、区域を全都道府県に変更する。期間は5月6日まで。"+
			" The area of the state of emergency is changed to all prefectures, until 6 May 2020.",
			"2020-05-06", all, akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE),
	})
	g.add(keyHQ, at(2020, time.May, 4, 19, 0), &akashiv1.Record{
		Id: hqExtensionID, ProcessId: hqDeclProcess, Tag: akashiv1.Tag_TAG_UPDATE,
		Amends: "covid-hq-2020-0002", Rationale: "期間を5月31日まで延長（5月4日）。Period extended to 31 May 2020 on 4 May 2020.",
		EffectiveDate: "2020-05-07",
		LegalBasis:    []*akashiv1.LegalBasis{tokusoho("32(3)")},
		Documents:     []*akashiv1.Document{doc(sengen+"20200504_kinkyujitai_encho.pdf", "緊急事態宣言の期間延長（令和2年5月4日）")},
		Body: decision(law+"宣言した緊急事態について、期間を5月31日まで延長する。区域は全都道府県。"+
			" The state of emergency is extended to 31 May 2020 for all prefectures.",
			"2020-05-31", all, akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE),
	})
	g.add(keyHQ, at(2020, time.May, 25, 19, 0), &akashiv1.Record{
		Id: "covid-hq-2020-0004", ProcessId: hqDeclProcess, Tag: akashiv1.Tag_TAG_UPDATE,
		Amends: hqExtensionID, Rationale: "緊急事態解除宣言（5月25日）。The state of emergency was lifted for the last prefectures on 25 May 2020.",
		EffectiveDate: "2020-05-25",
		LegalBasis:    []*akashiv1.LegalBasis{tokusoho("32(5)")},
		Documents:     []*akashiv1.Document{doc(sengen+"20200525_kinkyujitai_kaijo.pdf", "緊急事態解除宣言（令和2年5月25日）")},
		Body: decision("新型インフルエンザ等対策特別措置法第32条第5項に基づき、緊急事態が終了した旨を宣言する。39県は5月14日、京都府・大阪府・兵庫県は5月21日、残る5都道県は5月25日に解除。"+
			" The end of the state of emergency is declared under Article 32(5): 39 prefectures on 14 May, Kyoto, Osaka and Hyogo on 21 May, the remaining 5 on 25 May 2020.",
			"2020-05-25", all, akashiv1.DecisionStatus_DECISION_STATUS_LIFTED),
	})
	return nil
}

// ward is a municipality payees live in.
type ward struct {
	base   string // 5-digit local government code base
	name   string
	weight int // relative number of restaurants, roughly
}

// tokyoWards are the 23 special wards, 13101..13123 in code order.
var tokyoWards = []ward{
	{"13101", "千代田区", 5}, {"13102", "中央区", 6}, {"13103", "港区", 8},
	{"13104", "新宿区", 9}, {"13105", "文京区", 2}, {"13106", "台東区", 5},
	{"13107", "墨田区", 3}, {"13108", "江東区", 3}, {"13109", "品川区", 4},
	{"13110", "目黒区", 3}, {"13111", "大田区", 4}, {"13112", "世田谷区", 6},
	{"13113", "渋谷区", 8}, {"13114", "中野区", 3}, {"13115", "杉並区", 3},
	{"13116", "豊島区", 5}, {"13117", "北区", 2}, {"13118", "荒川区", 2},
	{"13119", "板橋区", 3}, {"13120", "練馬区", 3}, {"13121", "足立区", 3},
	{"13122", "葛飾区", 2}, {"13123", "江戸川区", 3},
}

// osakaAreas are a few municipalities of Osaka Prefecture.
var osakaAreas = []ward{
	{"27127", "大阪市北区", 3}, {"27128", "大阪市中央区", 3}, {"27109", "大阪市天王寺区", 1},
	{"27203", "豊中市", 1}, {"27205", "吹田市", 1},
}

// areaTable resolves the codes of a ward list and a weighted index over it.
type areaTable struct {
	codes, names []string
	cumulative   []int
}

func newAreaTable(ws []ward) (*areaTable, error) {
	t := &areaTable{}
	sum := 0
	for _, w := range ws {
		c, err := record.LocalGovernmentCodeFromBase(w.base)
		if err != nil {
			return nil, err
		}
		sum += w.weight
		t.codes = append(t.codes, c)
		t.names = append(t.names, w.name)
		t.cumulative = append(t.cumulative, sum)
	}
	return t, nil
}

// draw returns a weighted random index.
func (t *areaTable) draw(g *gen) int {
	n := g.r.IntN(t.cumulative[len(t.cumulative)-1])
	i, _ := slices.BinarySearch(t.cumulative, n+1)
	return i
}

// payment is one generated allowance payment.
type payment struct {
	day    time.Time
	award  int
	payee  *akashiv1.Payee
	area   string
	shops  uint32
	amount int64
	id     string
	at     time.Time
}

// Tokyo's allowance amounts.
const (
	oneShopJPY   = 500_000
	twoOrMoreJPY = 1_000_000
)

func shopsAmount(shops uint32) int64 {
	if shops >= 2 {
		return twoOrMoreJPY
	}
	return oneShopJPY
}

// tokyo makes Tokyo's programme, request, its amendment, the payments and
// their correction, refunds and clawbacks.
func (g *gen) tokyo() error {
	wards, err := newAreaTable(tokyoWards)
	if err != nil {
		return err
	}
	hq := g.org(keyHQ)
	tokyo := g.org(keySomu)
	const (
		sangyo = "https://www.sangyo-rodo.metro.tokyo.lg.jp/attention/2020/"
		bousai = "https://www.bousai.metro.tokyo.lg.jp/taisaku/saigai/1007617/"
	)
	yoko := func() *akashiv1.Document {
		return doc(sangyo+"kyoryokukin_boshuyoko.pdf", "東京都感染拡大防止協力金 募集要項")
	}

	g.add(keySangyo, at(2020, time.April, 10, 17, 0), &akashiv1.Record{
		Id: tokyoKRKID, ProcessId: tokyoKRKProcess, Tag: akashiv1.Tag_TAG_NEW,
		EffectiveDate: "2020-04-22",
		LegalBasis:    []*akashiv1.LegalBasis{chihoJichi()},
		Documents: []*akashiv1.Document{
			yoko(),
			doc(sangyo+"0410_kyoryokukin_gaiyo.pdf", "東京都感染拡大防止協力金の概要（令和2年4月10日）"),
		},
		Related: []*akashiv1.RelatedRecord{related(akashiv1.Relation_RELATION_BASED_ON, ref(hq, hqDeclID))},
		Body: &akashiv1.Record_Decision{Decision: &akashiv1.Decision{
			Title: "東京都感染拡大防止協力金",
			Description: "緊急事態措置期間中（4月16日から5月6日まで）、都の要請に応じ、施設の使用停止又は営業時間の短縮に全面的に協力した中小の事業者に協力金を支給する。" +
				"1店舗のみの事業者は50万円、2店舗以上の事業者は100万円。申請受付は4月22日から6月15日まで。" +
				" Cooperation allowance for small businesses that fully complied with the Metropolitan Government's requests to close or shorten their hours from 16 April to 6 May 2020:" +
				" ¥500,000 for a business with one shop, ¥1,000,000 for two or more. Applications from 22 April to 15 June 2020.",
			Type:         akashiv1.DecisionType_DECISION_TYPE_SUBSIDY_PROGRAMME,
			DecidedBy:    "東京都知事",
			DecisionDate: "2020-04-10",
			Period:       period("2020-04-22", "2020-06-15"),
			Areas:        []string{tokyoCode},
			Status:       akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE,
		}},
	})

	request := func(end string, basis string) *akashiv1.Record_Request {
		return &akashiv1.Record_Request{Request: &akashiv1.Request{
			Direction: akashiv1.RequestDirection_REQUEST_DIRECTION_GOVERNMENT_TO_PUBLIC,
			Type:      akashiv1.RequestType_REQUEST_TYPE_COOPERATION,
			Title:     "飲食店に対する営業時間短縮の要請",
			Description: "新型インフルエンザ等対策特別措置法第24条第9項に基づき、特別区の飲食店（居酒屋を含む）に対し、営業時間を5時から20時までとし、酒類の提供は19時までとするよう要請する。" +
				" Under Article 24(9) of the Act on Special Measures, restaurants (including izakaya) in the 23 special wards are requested to open only from 5:00 to 20:00 and to serve alcohol only until 19:00.",
			Addressees: []*akashiv1.Addressee{{Target: &akashiv1.Addressee_Class{Class: &akashiv1.AddresseeClass{
				Industry:    jsicRestaurants,
				Description: "飲食店（居酒屋を含む） / restaurants, including izakaya",
				Areas:       slices.Clone(wards.codes),
			}}}},
			Conditions: []string{
				"営業時間は5時から20時まで (open from 5:00 to 20:00)",
				"酒類の提供は19時まで (alcohol served until 19:00)",
			},
			Period:                period("2020-04-11", end),
			BasisDecision:         ref(hq, basis),
			CompensationProgramme: tokyoKRKProcess,
			Status:                akashiv1.RequestStatus_REQUEST_STATUS_ACTIVE,
		}}
	}
	g.add(keySomu, at(2020, time.April, 10, 18, 0), &akashiv1.Record{
		Id: tokyoReqID, ProcessId: tokyoReqProcess, Tag: akashiv1.Tag_TAG_NEW,
		EffectiveDate: "2020-04-11",
		LegalBasis:    []*akashiv1.LegalBasis{tokusoho("24(9)")},
		Documents:     []*akashiv1.Document{doc(bousai+"20200410_kinkyujitai_sochi.pdf", "緊急事態措置の実施について（令和2年4月10日）")},
		Body:          request("2020-05-06", hqDeclID),
	})
	g.add(keySomu, at(2020, time.May, 5, 18, 0), &akashiv1.Record{
		Id: tokyoReqAmend, ProcessId: tokyoReqProcess, Tag: akashiv1.Tag_TAG_AMENDMENT,
		Amends:        tokyoReqID,
		Rationale:     "緊急事態宣言の延長に伴い、要請期間を5月31日まで延長する。Request period extended to 31 May 2020 following the extension of the state of emergency.",
		EffectiveDate: "2020-05-07",
		LegalBasis:    []*akashiv1.LegalBasis{tokusoho("24(9)")},
		Documents:     []*akashiv1.Document{doc(bousai+"20200505_sochi_encho.pdf", "緊急事態措置の延長について（令和2年5月5日）")},
		Body:          request("2020-05-31", hqExtensionID),
	})

	// Payments, in value-date order.
	n := g.o.Disbursements
	days := businessDays(at(2020, time.May, 7, 0, 0), at(2020, time.June, 30, 0, 0))
	awards := map[int]bool{}
	maxAward := max(120_000, 2*n)
	pays := make([]payment, n)
	for i := range pays {
		p := &pays[i]
		p.day = pick(g.r, days)
		for p.award == 0 || awards[p.award] {
			p.award = 1 + g.r.IntN(maxAward)
		}
		awards[p.award] = true
		p.shops = 1
		if g.r.IntN(4) == 0 {
			p.shops = 2 + uint32(g.r.IntN(4))
		}
		p.amount = shopsAmount(p.shops)
		w := wards.draw(g)
		p.area = wards.codes[w]
		if g.r.IntN(10) == 0 {
			p.payee, err = g.individual("東京都", wards.names[w:w+1])
		} else {
			p.payee, err = g.company()
		}
		if err != nil {
			return err
		}
	}
	slices.SortStableFunc(pays, func(a, b payment) int { return a.day.Compare(b.day) })
	perDay := map[time.Time]int{}
	step := time.Duration(min(20, max(1, 8*3600/n))) * time.Second
	for i := range pays {
		p := &pays[i]
		p.id = fmt.Sprintf("tokyo-disb-%06d", i+1)
		p.at = p.day.Add(9*time.Hour + 30*time.Minute + time.Duration(perDay[p.day])*step)
		perDay[p.day]++
	}

	programme := func() *akashiv1.Programme {
		return &akashiv1.Programme{Code: tokyoProgrammeCode, Title: "東京都感染拡大防止協力金", FundingSource: "東京都一般会計"}
	}
	disb := func(p *payment, tt akashiv1.TransactionType, amount int64, shops uint32, valueDate time.Time) *akashiv1.Record_Disbursement {
		return &akashiv1.Record_Disbursement{Disbursement: &akashiv1.Disbursement{
			Programme:       programme(),
			AwardId:         fmt.Sprintf("TKY-KRK-2020-%06d", p.award),
			TransactionType: tt,
			Amount:          jpy(amount),
			ValueDate:       date(valueDate),
			Payer:           tokyoOrg(),
			Payee:           proto.CloneOf(p.payee),
			PayeeArea:       p.area,
			PeriodCovered:   period("2020-04-16", "2020-05-06"),
			RelatedRequest:  ref(tokyo, tokyoReqID),
			FacilityCount:   shops,
		}}
	}
	process := func(p *payment) string { return fmt.Sprintf("tokyo-krk-%06d", p.award) }
	for i := range pays {
		p := &pays[i]
		g.add(keySangyo, p.at, &akashiv1.Record{
			Id: p.id, ProcessId: process(p), Tag: akashiv1.Tag_TAG_NEW,
			Documents: []*akashiv1.Document{yoko()},
			Body:      disb(p, akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT, p.amount, p.shops, p.day),
		})
	}

	// One correction: the record gave the wrong number of shops, and so
	// the wrong amount.
	used := map[int]bool{}
	ci := g.r.IntN(n)
	used[ci] = true
	{
		p := &pays[ci]
		shops := uint32(2)
		if p.shops >= 2 {
			shops = 1
		}
		when := nextBusinessDay(p.day.AddDate(0, 0, 3)).Add(16 * time.Hour)
		g.add(keySangyo, when, &akashiv1.Record{
			Id: p.id + "-c1", ProcessId: process(p), Tag: akashiv1.Tag_TAG_CORRECTION,
			Amends: p.id,
			Rationale: fmt.Sprintf("誤記訂正：店舗数を%dから%dに、支給額を%d円から%d円に訂正（支給済みの額は%d円）。"+
				"Data-entry error: the application covered %d shop(s), not %d; ¥%d was paid, not ¥%d.",
				p.shops, shops, p.amount, shopsAmount(shops), shopsAmount(shops),
				shops, p.shops, shopsAmount(shops), p.amount),
			Documents: []*akashiv1.Document{yoko()},
			Body:      disb(p, akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT, shopsAmount(shops), shops, p.day),
		})
	}

	// Refunds (the payee returns the money of their own accord) and
	// clawbacks (the agency reclaims it after finding non-compliance).
	target := func() *payment {
		i := g.r.IntN(n)
		for used[i] {
			i = g.r.IntN(n)
		}
		used[i] = true
		return &pays[i]
	}
	back := func(kind string, k int, p *payment, tt akashiv1.TransactionType, day time.Time, hour int) {
		id := fmt.Sprintf("tokyo-%s-%04d", kind, k)
		g.add(keySangyo, day.Add(time.Duration(hour)*time.Hour+time.Duration(k)*time.Minute), &akashiv1.Record{
			Id: id, ProcessId: id, Tag: akashiv1.Tag_TAG_NEW,
			Documents: []*akashiv1.Document{yoko()},
			Related:   []*akashiv1.RelatedRecord{related(akashiv1.Relation_RELATION_SEE_ALSO, ref(tokyo, p.id))},
			Body:      disb(p, tt, p.amount, p.shops, day),
		})
	}
	for k := 1; k <= 2+n/1500; k++ {
		p := target()
		day := nextBusinessDay(p.day.AddDate(0, 0, 14+g.r.IntN(40)))
		back("refund", k, p, akashiv1.TransactionType_TRANSACTION_TYPE_REFUND, day, 14)
	}
	for k := 1; k <= 1+n/3000; k++ {
		p := target()
		day := nextBusinessDay(at(2020, time.July, 1, 0, 0).AddDate(0, 0, g.r.IntN(90)))
		back("clawback", k, p, akashiv1.TransactionType_TRANSACTION_TYPE_CLAWBACK, day, 15)
	}
	return nil
}

// osaka makes Osaka's request, its support programme, the update linking
// them, and a handful of payments.
func (g *gen) osaka() error {
	areas, err := newAreaTable(osakaAreas)
	if err != nil {
		return err
	}
	hq := g.org(keyHQ)
	osaka := g.org(keyOsaka)
	const site = "https://www.pref.osaka.lg.jp/attach/38215/"

	request := func(compensation string) *akashiv1.Record_Request {
		class := func(industry, desc string) *akashiv1.Addressee {
			return &akashiv1.Addressee{Target: &akashiv1.Addressee_Class{Class: &akashiv1.AddresseeClass{
				Industry: industry, Description: desc, Areas: []string{osakaCode},
			}}}
		}
		return &akashiv1.Record_Request{Request: &akashiv1.Request{
			Direction: akashiv1.RequestDirection_REQUEST_DIRECTION_GOVERNMENT_TO_PUBLIC,
			Type:      akashiv1.RequestType_REQUEST_TYPE_COOPERATION,
			Title:     "施設の使用制限等の要請",
			Description: "新型インフルエンザ等対策特別措置法第24条第9項に基づき、遊興施設等に休業を、飲食店に営業時間の短縮を要請する。" +
				" Under Article 24(9) of the Act on Special Measures, entertainment venues are requested to close and restaurants to shorten their hours.",
			Addressees: []*akashiv1.Addressee{
				class(jsicEntertainment, "遊興施設等（ナイトクラブ、カラオケボックス等） / entertainment venues"),
				class(jsicRestaurants, "飲食店（居酒屋を含む） / restaurants, including izakaya"),
			},
			Conditions: []string{
				"遊興施設等は休業 (entertainment venues closed)",
				"飲食店の営業時間は5時から20時まで、酒類の提供は19時まで (restaurants open 5:00–20:00, alcohol until 19:00)",
			},
			Period:                period("2020-04-14", "2020-05-06"),
			BasisDecision:         ref(hq, hqDeclID),
			CompensationProgramme: compensation,
			Status:                akashiv1.RequestStatus_REQUEST_STATUS_ACTIVE,
		}}
	}
	g.add(keyOsaka, at(2020, time.April, 13, 19, 0), &akashiv1.Record{
		Id: osakaReqID, ProcessId: osakaReqProcess, Tag: akashiv1.Tag_TAG_NEW,
		EffectiveDate: "2020-04-14",
		LegalBasis:    []*akashiv1.LegalBasis{tokusoho("24(9)")},
		Documents:     []*akashiv1.Document{doc(site+"20200413_shisetsu_shiyo_seigen.pdf", "施設の使用制限等の要請について（令和2年4月13日）")},
		Body:          request(""),
	})
	yoko := func() *akashiv1.Document {
		return doc(site+"kyugyo_shienkin_yoko.pdf", "休業要請支援金（府・市町村共同支援金）申請要項")
	}
	g.add(keyOsaka, at(2020, time.April, 24, 17, 0), &akashiv1.Record{
		Id: osakaShienkin, ProcessId: osakaShienProcess, Tag: akashiv1.Tag_TAG_NEW,
		EffectiveDate: "2020-05-01",
		LegalBasis:    []*akashiv1.LegalBasis{chihoJichi()},
		Documents:     []*akashiv1.Document{yoko()},
		Related:       []*akashiv1.RelatedRecord{related(akashiv1.Relation_RELATION_BASED_ON, ref(osaka, osakaReqID))},
		Body: &akashiv1.Record_Decision{Decision: &akashiv1.Decision{
			Title: "休業要請支援金（府・市町村共同支援金）",
			Description: "府の休業要請に応じた中小企業に100万円、個人事業主に50万円を支給する（府と市町村が折半）。" +
				" Support for small businesses that closed at the prefecture's request: ¥1,000,000 for a company, ¥500,000 for a sole proprietor, shared between the prefecture and the municipalities.",
			Type:         akashiv1.DecisionType_DECISION_TYPE_SUBSIDY_PROGRAMME,
			DecidedBy:    "大阪府知事",
			DecisionDate: "2020-04-24",
			Period:       period("2020-05-01", "2020-06-30"),
			Areas:        []string{osakaCode},
			Status:       akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE,
		}},
	})
	g.add(keyOsaka, at(2020, time.April, 24, 18, 0), &akashiv1.Record{
		Id: osakaReqUpdate, ProcessId: osakaReqProcess, Tag: akashiv1.Tag_TAG_UPDATE,
		Amends:     osakaReqID,
		Rationale:  "休業要請支援金の創設に伴い、補償の制度を追記する。Links the closure-support programme created on 24 April 2020.",
		LegalBasis: []*akashiv1.LegalBasis{tokusoho("24(9)")},
		Documents:  []*akashiv1.Document{doc(site+"20200413_shisetsu_shiyo_seigen.pdf", "施設の使用制限等の要請について（令和2年4月13日）")},
		Body:       request(osakaShienProcess),
	})

	days := businessDays(at(2020, time.May, 20, 0, 0), at(2020, time.June, 19, 0, 0))
	pays := make([]payment, osakaDisbursements)
	for i := range pays {
		p := &pays[i]
		p.day = pick(g.r, days)
		p.award = 1 + i*37 + g.r.IntN(37)
		a := areas.draw(g)
		p.area = areas.codes[a]
		p.amount = twoOrMoreJPY
		if i%4 == 3 {
			p.amount = oneShopJPY
			p.payee, err = g.individual("大阪府", areas.names[a:a+1])
		} else {
			p.payee, err = g.company()
		}
		if err != nil {
			return err
		}
	}
	slices.SortStableFunc(pays, func(a, b payment) int { return a.day.Compare(b.day) })
	for i := range pays {
		p := &pays[i]
		id := fmt.Sprintf("osaka-disb-%06d", i+1)
		g.add(keyOsaka, p.day.Add(11*time.Hour+time.Duration(i)*time.Minute), &akashiv1.Record{
			Id: id, ProcessId: fmt.Sprintf("osaka-shienkin-%06d", p.award), Tag: akashiv1.Tag_TAG_NEW,
			Documents: []*akashiv1.Document{yoko()},
			Body: &akashiv1.Record_Disbursement{Disbursement: &akashiv1.Disbursement{
				Programme:       &akashiv1.Programme{Code: osakaProgrammeCode, Title: "休業要請支援金（府・市町村共同支援金）", FundingSource: "大阪府一般会計・府内市町村"},
				AwardId:         fmt.Sprintf("OSK-SHIEN-2020-%06d", p.award),
				TransactionType: akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT,
				Amount:          jpy(p.amount),
				ValueDate:       date(p.day),
				Payer:           g.org(keyOsaka),
				Payee:           p.payee,
				PayeeArea:       p.area,
				PeriodCovered:   period("2020-04-14", "2020-05-06"),
				RelatedRequest:  ref(osaka, osakaReqID),
			}},
		})
	}
	return nil
}

// Word lists for synthetic payees. The personal names are common ones,
// combined at random; they never enter a record, only a commitment.
var (
	familyNames = []string{"佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "斎藤", "清水", "森田"}
	givenNames  = []string{"太郎", "花子", "健一", "裕子", "誠", "美咲", "翔太", "陽子", "大輔", "由美", "拓也", "恵子", "直樹", "真理", "浩二", "明美"}
	townNames   = []string{"本町", "栄町", "旭町", "緑町", "寿町", "東町", "西町", "南町"}

	companyForms = []string{"株式会社", "株式会社", "株式会社", "有限会社", "合同会社"}
	companyStems = []string{"さくら", "あおば", "ひかり", "みなと", "こだま", "つばさ", "かえで", "すみれ", "いろは", "あかね", "オリーブ", "ミモザ", "ソレイユ", "ポラリス", "ルミエール", "アルカス"}
	companyKinds = []string{"食堂", "酒場", "亭", "キッチン", "珈琲店", "ダイニング", "寿司", "焼肉", "屋台村", "フーズ", "商事", "企画"}
)
