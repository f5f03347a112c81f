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
	for _, bad := range [][]byte{nil, b[:80], append(append([]byte{}, b...), 0), append([]byte{2}, b[1:]...)} {
		if _, err := decodeState(bad); err == nil {
			t.Errorf("decodeState(%x) accepted", bad)
		}
	}
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
