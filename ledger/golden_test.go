// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

type detReader byte

func (d *detReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(*d)
		*d++
	}
	return len(p), nil
}

// TestGoldenStore builds a deterministic log (fixed key, clock and
// payloads) and pins every format it publishes: the state record, the
// checkpoint, tiles and entry bundles.
func TestGoldenStore(t *testing.T) {
	const origin = "golden.akashi.example/log"
	r := detReader(1)
	skey, vkey, err := note.GenerateKey(&r, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	tick := time.Date(2020, 4, 7, 17, 0, 0, 0, time.UTC)
	l := openTest(t, t.TempDir(), func(o *Options) {
		o.Origin, o.Signer, o.Verifier = origin, s, v
		o.Now = func() time.Time { tick = tick.Add(time.Millisecond); return tick }
	})
	defer l.Close()
	ctx := t.Context()
	for i := range 300 {
		if _, err := l.Append(ctx, []byte(fmt.Sprintf("record %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var text strings.Builder
	fmt.Fprintf(&text, "verifier %s\n", vkey)
	fmt.Fprintf(&text, "state %x\n", encodeState(l.pub.Load().state))
	text.WriteString("checkpoint\n")
	text.Write(l.Checkpoint())
	golden(t, "store.golden", []byte(text.String()))
	for _, p := range []string{"tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1", "tile/entries/000", "tile/entries/001.p/44"} {
		tp, err := verify.ParseTilePath(p)
		if err != nil {
			t.Fatal(err)
		}
		data, err := l.ReadTile(ctx, tp)
		if err != nil {
			t.Fatalf("ReadTile(%s) = %v", p, err)
		}
		golden(t, strings.ReplaceAll(p, "/", "_")+".golden", []byte(hex.Dump(data)))
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed; run go test -update after checking why\ngot:\n%.600s", name, got)
	}
}

func TestStateEncoding(t *testing.T) {
	st := state{Size: 70000, Root: verify.Hash{1}, ChainHead: verify.Hash{2}, LastTime: 1586246400000000000}
	b := encodeState(st)
	if len(b) != stateSize {
		t.Fatalf("encodeState has %d bytes, want %d", len(b), stateSize)
	}
	got, err := decodeState(b)
	if err != nil || got != st {
		t.Fatalf("decodeState(encodeState(%+v)) = %+v, %v", st, got, err)
	}
	for _, bad := range [][]byte{nil, b[:80], append(append([]byte{}, b...), 0), append([]byte{3}, b[1:]...)} {
		if _, err := decodeState(bad); err == nil {
			t.Errorf("decodeState(%x) accepted", bad)
		}
	}
	// A store of the layout before payload groups is refused by name.
	if _, err := decodeState(append([]byte{1}, b[1:]...)); err == nil || !strings.Contains(err.Error(), "layout of version 1") {
		t.Errorf("decodeState of a version 1 state = %v, want the layout named", err)
	}
}

// TestPayloadGroupEncoding pins the payload group's bytes and checks that
// parsing finds every payload, a withheld one, and refuses what is not a
// group.
func TestPayloadGroupEncoding(t *testing.T) {
	payloads := [][]byte{[]byte("first"), nil, []byte("third payload")}
	b := encodePayloadGroup(payloads)
	golden(t, "payload_group.golden", []byte(hex.Dump(b)))
	g, err := parsePayloadGroup(12, b)
	if err != nil {
		t.Fatal(err)
	}
	if g.first != 10 || g.last != 12 || g.total() != len(g.data) {
		t.Fatalf("group = entries %d to %d, %d of %d bytes accounted for", g.first, g.last, g.total(), len(g.data))
	}
	for _, i := range []uint64{12, 10, 11, 12} { // out of order too
		got, err := g.payload(i)
		if err != nil || !bytes.Equal(got, payloads[i-10]) {
			t.Errorf("payload(%d) = %q, %v, want %q", i, got, err, payloads[i-10])
		}
	}
	if _, err := g.payload(9); err == nil {
		t.Error("payload(9) of a group of entries 10 to 12 succeeded")
	}
	w, err := g.without(12)
	if err != nil {
		t.Fatal(err)
	}
	if want := encodePayloadGroup([][]byte{payloads[0], nil, nil}); !bytes.Equal(w, want) {
		t.Errorf("without(12) = %x, want %x", w, want)
	}
	for _, bad := range []struct {
		last uint64
		b    []byte
	}{
		{12, nil},
		{12, b[:4]},
		{12, append([]byte{2}, b[1:]...)},
		{1, b},                      // three entries cannot end at entry 1
		{12, b[:10]},                // the length table is cut
		{12, []byte{1, 0, 0, 0, 0}}, // no entries
	} {
		if _, err := parsePayloadGroup(bad.last, bad.b); err == nil {
			t.Errorf("parsePayloadGroup(%d, %x) accepted", bad.last, bad.b)
		}
	}
}

func FuzzParsePayloadGroup(f *testing.F) {
	f.Add(uint64(12), encodePayloadGroup([][]byte{[]byte("a"), nil, []byte("bc")}))
	f.Add(uint64(0), encodePayloadGroup([][]byte{[]byte("x")}))
	f.Fuzz(func(t *testing.T, last uint64, b []byte) {
		g, err := parsePayloadGroup(last, b)
		if err != nil {
			return
		}
		if g.first > g.last || g.last != last {
			t.Fatalf("group of entries %d to %d from key %d", g.first, g.last, last)
		}
		whole := true
		payloads := make([][]byte, 0, 8)
		for i := g.first; i <= g.last && i-g.first < 1<<16; i++ {
			p, err := g.payload(i)
			if err != nil {
				whole = false
				break
			}
			payloads = append(payloads, p)
		}
		if whole && g.last-g.first < 1<<16 && g.total() == len(g.data) && !bytes.Equal(encodePayloadGroup(payloads), b) {
			t.Fatalf("parsePayloadGroup(%d, %x) does not round-trip", last, b)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	f.Add(encodeState(state{Size: 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeState(b)
		if err == nil && !bytes.Equal(encodeState(st), b) {
			t.Fatalf("decodeState(%x) does not round-trip", b)
		}
	})
}
