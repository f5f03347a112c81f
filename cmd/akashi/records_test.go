// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestToJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     any
		err      string
	}{
		{"json stays", `{"a": "2020-04-07", "n": 5}`, map[string]any{"a": "2020-04-07", "n": 5.0}, ""},
		{"yaml dates stay text", "a: 2020-04-07\nb: \"130001\"\nc: 130001\n", map[string]any{"a": "2020-04-07", "b": "130001", "c": 130001.0}, ""},
		{"yaml nesting and lists", "p: {id: JP-JCN-8000020130001}\nl: [x, y]\nt: true\nz: ~\n", map[string]any{"p": map[string]any{"id": "JP-JCN-8000020130001"}, "l": []any{"x", "y"}, "t": true, "z": nil}, ""},
		{"yaml anchors", "a: &x {k: v}\nb: *x\n", map[string]any{"a": map[string]any{"k": "v"}, "b": map[string]any{"k": "v"}}, ""},
		{"duplicate key", "a: 1\na: 2\n", nil, "a"},
		{"not yaml", "a: [1, 2\n", nil, "YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := toJSON([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("toJSON(%q) = %s, %v; want an error naming %q", tc.in, b, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("toJSON(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseRecordCoercesNumbersToStrings(t *testing.T) {
	r, err := parseRecord([]byte(strings.Replace(decisionYAML, `jurisdiction: "130001"`, "jurisdiction: 130001", 1) + "  areas: [131016, \"131041\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"130001", "131016", "131041"}, append([]string{r.GetJurisdiction()}, r.GetDecision().GetAreas()...)); diff != "" {
		t.Errorf("parseRecord (-want +got):\n%s", diff)
	}
}

func TestImportMappingConvert(t *testing.T) {
	var m importMapping
	j, err := toJSON([]byte(paymentsMap + "  decision.areas[]: areas\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	delete(m.Columns, "decision.areas[]")
	row := importRow{n: 1, cells: map[string]string{
		"payment_id": "pay-1", "recorded_at": "2020-05-12T10:00:00+09:00", "application": "A-1", "amount_yen": "1000000",
		"paid_on": "2020-05-12", "payee_org_id": "JP-JCN-1180301018771", "payee_name": "株式会社サンプル", "ward": "131041",
		"shops": "2", "person_name": "", "person_address": "", "request": "",
	}}
	m.Personal = nil
	r, err := m.convert(row, &secretsFile{known: nil})
	if err != nil {
		t.Fatal(err)
	}
	d := r.GetDisbursement()
	got := []any{r.GetId(), r.GetProcessId(), r.GetTag().String(), d.GetAmount().GetMinorUnits(), d.GetAmount().GetCurrency(), d.GetFacilityCount(), d.GetPayee().GetOrganization().GetName(), d.GetRelatedRequest() == nil}
	want := []any{"pay-1", "pay-1", "TAG_NEW", int64(1000000), "JPY", uint32(2), "株式会社サンプル", true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("convert (-want +got):\n%s", diff)
	}
	// A column the mapping names but the file lacks.
	delete(row.cells, "ward")
	if _, err := m.convert(row, &secretsFile{}); err == nil || !strings.Contains(err.Error(), `"ward"`) {
		t.Errorf("convert without a mapped column = %v", err)
	}
	// Lists split on |.
	obj := map[string]any{}
	if err := setPath(obj, "a.b", []any{"x", "y"}); err != nil {
		t.Fatal(err)
	}
	if err := setPath(obj, "a.b.c", "z"); err == nil {
		t.Error("setPath through a list succeeded")
	}
}
