// SPDX-License-Identifier: Apache-2.0

package server

import (
	"fmt"
	"testing"

	"github.com/akashi-ledger/akashi/registry"
)

func TestKeyMemo(t *testing.T) {
	m := newKeyMemo()
	k := registry.Key{ID: "k1", Public: make([]byte, 32), AgencyID: "JP-JCN-8000020130001"}
	raw := `{"ID":"k1"}`
	if _, ok := m.get(raw); ok {
		t.Fatal("empty memo answered")
	}
	m.put(raw, k)
	k.Public[0] = 1 // the caller's copy, changed after put
	got, ok := m.get(raw)
	if !ok || got.ID != "k1" || got.Public[0] != 0 {
		t.Fatalf("get = %+v, %v; want the key as put", got, ok)
	}
	got.Public[1] = 1 // changing what get returned
	if again, _ := m.get(raw); again.Public[1] != 0 {
		t.Fatal("a caller's change reached the memo")
	}
	if _, ok := m.get(`{"ID":"k1","Revoked":true}`); ok {
		t.Fatal("other bytes answered with the memo's key")
	}
	for i := range keyMemoMax + 1 {
		m.put(fmt.Sprint(i), k)
	}
	if len(m.m) > keyMemoMax {
		t.Fatalf("memo holds %d keys, more than %d", len(m.m), keyMemoMax)
	}
}
