// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
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
		t.Errorf("%s changed:\ngot  %q\nwant %q", name, got, want)
	}
}

// detReader is a deterministic byte stream for test keys.
type detReader byte

func (d *detReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(*d)
		*d++
	}
	return len(p), nil
}

func testKey(t *testing.T, origin string) (note.Signer, note.Verifier, string) {
	t.Helper()
	r := detReader(7)
	skey, vkey, err := note.GenerateKey(&r, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v, vkey
}

func sampleHeaders() []Header {
	return []Header{
		{Index: 0, Time: 0, PayloadDigest: sha256.Sum256([]byte("first")), PrevChain: GenesisChain},
		{Index: 1, Time: 1586217600_000000000, PayloadDigest: sha256.Sum256([]byte("緊急事態宣言")), PrevChain: Hash{1, 2, 3}},
		{Index: 1<<64 - 1, Time: 1<<63 - 1, PayloadDigest: Hash{0xff}, PrevChain: Hash{31: 0xee}},
	}
}

func TestHeaderGolden(t *testing.T) {
	var b strings.Builder
	for _, h := range sampleHeaders() {
		enc := h.Marshal()
		if len(enc) != HeaderSize {
			t.Fatalf("Marshal(%+v) has %d bytes, want %d", h, len(enc), HeaderSize)
		}
		got, err := ParseHeader(enc)
		if err != nil || got != h {
			t.Fatalf("ParseHeader(Marshal(%+v)) = %+v, %v", h, got, err)
		}
		leaf := LeafHash(enc)
		b.WriteString("header " + hex.EncodeToString(enc) + "\n")
		b.WriteString("leaf   " + hex.EncodeToString(leaf[:]) + "\n")
		c := ChainHash(h.PrevChain, leaf)
		b.WriteString("chain  " + hex.EncodeToString(c[:]) + "\n")
	}
	golden(t, "headers.golden", []byte(b.String()))
}

func TestHashDefinitions(t *testing.T) {
	enc := sampleHeaders()[1].Marshal()
	if got, want := LeafHash(enc), Hash(sha256.Sum256(append([]byte{0}, enc...))); got != want {
		t.Errorf("LeafHash = %v, want SHA-256(0x00||header) %v", got, want)
	}
	a, b := Hash{1}, Hash{2}
	if got, want := ChainHash(a, b), Hash(sha256.Sum256(append(a[:], b[:]...))); got != want {
		t.Errorf("ChainHash = %v, want SHA-256(prev||leaf) %v", got, want)
	}
	if got, want := NodeHash(a, b), Hash(sha256.Sum256(append(append([]byte{1}, a[:]...), b[:]...))); got != want {
		t.Errorf("NodeHash = %v, want SHA-256(0x01||l||r) %v", got, want)
	}
	if GenesisChain != (Hash{}) {
		t.Errorf("GenesisChain = %v, want 32 zero bytes", GenesisChain)
	}
}

func TestParseHeaderRejects(t *testing.T) {
	good := sampleHeaders()[1].Marshal()
	negTime := append([]byte(nil), good...)
	negTime[9] = 0x80
	badVersion := append([]byte(nil), good...)
	badVersion[0] = 2
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short", good[:80]},
		{"long", append(append([]byte(nil), good...), 0)},
		{"version 2", badVersion},
		{"negative time", negTime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if h, err := ParseHeader(tc.in); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseHeader(%x) = %+v, %v, want ErrMalformed", tc.in, h, err)
			}
		})
	}
}

func TestCheckpointGolden(t *testing.T) {
	const origin = "akashi.example.jp/ledger"
	s, v, vkey := testKey(t, origin)
	cp := Checkpoint{Origin: origin, Size: 70000, Root: sha256.Sum256([]byte("root"))}
	signed, err := SignCheckpoint(cp, s)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "checkpoint.golden", append([]byte(vkey+"\n\n"), signed...))
	got, err := OpenCheckpoint(signed, origin, v)
	if err != nil || got != cp {
		t.Fatalf("OpenCheckpoint = %+v, %v; want %+v", got, err, cp)
	}
	if _, err := OpenCheckpoint(signed, "other.example/log", v); !errors.Is(err, ErrMismatch) {
		t.Errorf("OpenCheckpoint(wrong origin) = %v, want ErrMismatch", err)
	}
	_, other, _ := func() (note.Signer, note.Verifier, string) {
		skey, vkey, _ := note.GenerateKey(nil, origin)
		s, _ := note.NewSigner(skey)
		v, _ := note.NewVerifier(vkey)
		return s, v, vkey
	}()
	if _, err := OpenCheckpoint(signed, origin, other); !errors.Is(err, ErrBadSignature) {
		t.Errorf("OpenCheckpoint(other key) = %v, want ErrBadSignature", err)
	}
	tampered := bytes.Replace(signed, []byte("70000"), []byte("70001"), 1)
	if _, err := OpenCheckpoint(tampered, origin, v); !errors.Is(err, ErrBadSignature) {
		t.Errorf("OpenCheckpoint(tampered) = %v, want ErrBadSignature", err)
	}
}

func TestParseCheckpointRejects(t *testing.T) {
	root := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	for _, text := range []string{
		"",
		"origin\n",
		"origin\n10\n",
		"\n10\n" + root + "\n",
		"origin\n-1\n" + root + "\n",
		"origin\n010\n" + root + "\n",
		"origin\n10\nAAAA\n",
		"origin\n10\n" + root + "\nextension\n",
		"origin\n10\n" + root,
	} {
		if c, err := ParseCheckpoint([]byte(text)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCheckpoint(%q) = %+v, %v, want ErrMalformed", text, c, err)
		}
	}
	if _, err := ParseCheckpoint([]byte("origin\n10\n" + root + "\n")); err != nil {
		t.Errorf("ParseCheckpoint(valid) = %v", err)
	}
}

func TestTilePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want TilePath
	}{
		{"tile/0/000", TilePath{}},
		{"tile/0/x001/x234/067", TilePath{Index: 1234067}},
		{"tile/1/x001/x234/067.p/8", TilePath{Level: 1, Index: 1234067, Width: 8}},
		{"tile/entries/x001/x234/067.p/8", TilePath{Entries: true, Index: 1234067, Width: 8}},
		{"tile/entries/000.p/255", TilePath{Entries: true, Width: 255}},
		{"tile/63/999", TilePath{Level: 63, Index: 999}},
		{"/tile/2/x018/x446/x744/x073/x709/x551/615", TilePath{Level: 2, Index: 1<<64 - 1}},
	} {
		got, err := ParseTilePath(tc.path)
		if err != nil || got != tc.want {
			t.Errorf("ParseTilePath(%q) = %+v, %v; want %+v", tc.path, got, err, tc.want)
		}
		if s := got.String(); s != strings.TrimPrefix(tc.path, "/") {
			t.Errorf("%+v.String() = %q, want %q", got, s, tc.path)
		}
	}
	for _, bad := range []string{
		"", "tile", "tile/", "tile/0", "tile/0/", "tile/00/000", "tile/64/000", "tile/-1/000",
		"tile/0/1", "tile/0/0001", "tile/0/x000/001", "tile/0/001/002", "tile/0/x1/002",
		"tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/01", "tile/0/000.p/", "tile/0/000.p",
		"tile/0/../000", "tile/data/000", "tile/0/x018/x446/x744/x073/x709/x551/616",
		"tile/0/x001/x001/x001/x001/x001/x001/x001/001", "tile/entries/000/", "tiles/0/000",
	} {
		if got, err := ParseTilePath(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseTilePath(%q) = %+v, %v; want ErrMalformed", bad, got, err)
		}
	}
}

func TestTileExistsAndWidths(t *testing.T) {
	// The example of the tlog-tiles spec: a tree of size 70,000.
	const size = 70000
	for _, tc := range []struct {
		t    TilePath
		want bool
	}{
		{TilePath{Level: 0, Index: 272}, true},
		{TilePath{Level: 0, Index: 273}, false},
		{TilePath{Level: 0, Index: 273, Width: 112}, true},
		{TilePath{Level: 0, Index: 273, Width: 113}, false},
		{TilePath{Level: 0, Index: 273, Width: 5}, true},
		{TilePath{Level: 0, Index: 272, Width: 5}, false},
		{TilePath{Entries: true, Index: 273, Width: 112}, true},
		{TilePath{Level: 1, Index: 0}, true},
		{TilePath{Level: 1, Index: 1, Width: 17}, true},
		{TilePath{Level: 2, Index: 0, Width: 1}, true},
		{TilePath{Level: 2, Index: 0}, false},
		{TilePath{Level: 3, Index: 0, Width: 1}, false},
	} {
		if got := TileExists(tc.t, size); got != tc.want {
			t.Errorf("TileExists(%s, %d) = %v, want %v", tc.t, size, got, tc.want)
		}
	}
	for l, want := range []int{112, 17, 1, 0} {
		if got := PartialTileWidth(uint8(l), size); got != want {
			t.Errorf("PartialTileWidth(%d, %d) = %d, want %d", l, size, got, want)
		}
	}
	if got := PartialTileWidth(1, 256); got != 1 {
		t.Errorf("PartialTileWidth(1, 256) = %d, want 1", got)
	}
}

func TestEntryBundle(t *testing.T) {
	var b []byte
	var want [][]byte
	for _, h := range sampleHeaders() {
		enc := h.Marshal()
		b = AppendBundleEntry(b, enc)
		want = append(want, enc)
	}
	got, err := ParseEntryBundle(b)
	if err != nil || len(got) != len(want) {
		t.Fatalf("ParseEntryBundle = %d entries, %v", len(got), err)
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("entry %d = %x, want %x", i, got[i], want[i])
		}
	}
	for _, bad := range [][]byte{nil, {0}, {0, 5, 1, 2}} {
		if _, err := ParseEntryBundle(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseEntryBundle(%x) = %v, want ErrMalformed", bad, err)
		}
	}
	var tooMany []byte
	for range 257 {
		tooMany = AppendBundleEntry(tooMany, []byte{1})
	}
	if _, err := ParseEntryBundle(tooMany); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseEntryBundle(257 entries) = %v, want ErrMalformed", err)
	}
}

// memTree is an independent reference: every stored hash in memory, with
// sumdb/tlog's own functions doing the tree work.
type memTree struct{ hashes []tlog.Hash }

func (m *memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memTree) add(t *testing.T, n int64, leafData []byte) {
	hs, err := tlog.StoredHashes(n, leafData, m)
	if err != nil {
		t.Fatal(err)
	}
	m.hashes = append(m.hashes, hs...)
}

func TestAuditorAndProofsAgainstTlog(t *testing.T) {
	ref := &memTree{}
	aud, err := NewAuditor(AuditorState{})
	if err != nil {
		t.Fatal(err)
	}
	var headers [][]byte
	prev := GenesisChain
	for i := range uint64(600) {
		payload := []byte{byte(i), byte(i >> 8)}
		h := Header{Index: i, Time: int64(i) * 1000, PayloadDigest: PayloadDigest(payload), PrevChain: prev}
		enc := h.Marshal()
		headers = append(headers, enc)
		ref.add(t, int64(i), enc)
		if err := aud.Append(enc, payload); err != nil {
			t.Fatalf("Append(%d) = %v", i, err)
		}
		prev = ChainHash(prev, LeafHash(enc))
		n := int64(i + 1)
		want, err := tlog.TreeHash(n, ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := aud.Root(); got != want {
			t.Fatalf("Root() at size %d = %v, tlog.TreeHash = %v", n, got, want)
		}
	}
	if aud.ChainHead() != prev {
		t.Fatalf("ChainHead() = %v, want %v", aud.ChainHead(), prev)
	}
	// Resume from a saved state gives the same results.
	st := aud.State()
	again, err := NewAuditor(st)
	if err != nil || again.Root() != aud.Root() {
		t.Fatalf("NewAuditor(State()) root %v, %v; want %v", again.Root(), err, aud.Root())
	}
	// Proofs made by tlog verify with our checks, for many (index, size) pairs.
	for _, size := range []int64{1, 2, 3, 255, 256, 257, 511, 512, 600} {
		root, _ := tlog.TreeHash(size, ref)
		for _, idx := range []int64{0, 1, size / 2, size - 1} {
			if idx >= size {
				continue
			}
			p, err := tlog.ProveRecord(size, idx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(uint64(idx), uint64(size), LeafHash(headers[idx]), p, root); err != nil {
				t.Errorf("VerifyInclusion(%d, %d) = %v", idx, size, err)
			}
			if err := VerifyInclusion(uint64(idx), uint64(size), Hash{1}, p, root); !errors.Is(err, ErrBadProof) {
				t.Errorf("VerifyInclusion(wrong leaf) = %v, want ErrBadProof", err)
			}
		}
		for _, old := range []int64{1, size / 3, size - 1} {
			if old < 1 || old > size {
				continue
			}
			oldRoot, _ := tlog.TreeHash(old, ref)
			p, err := tlog.ProveTree(size, old, ref)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyConsistency(uint64(old), uint64(size), p, oldRoot, root); err != nil {
				t.Errorf("VerifyConsistency(%d, %d) = %v", old, size, err)
			}
		}
	}
}

func TestAuditorRejects(t *testing.T) {
	mk := func(i uint64, tm int64, prev Hash, payload string) []byte {
		return Header{Index: i, Time: tm, PayloadDigest: PayloadDigest([]byte(payload)), PrevChain: prev}.Marshal()
	}
	h0 := mk(0, 10, GenesisChain, "a")
	c0 := ChainHash(GenesisChain, LeafHash(h0))
	for _, tc := range []struct {
		name    string
		header  []byte
		payload string
	}{
		{"gap", mk(2, 10, c0, "b"), "b"},
		{"wrong link", mk(1, 10, Hash{9}, "b"), "b"},
		{"time backwards", mk(1, 9, c0, "b"), "b"},
		{"payload digest", mk(1, 10, c0, "b"), "c"},
		{"malformed", []byte("x"), "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aud, _ := NewAuditor(AuditorState{})
			if err := aud.Append(h0, []byte("a")); err != nil {
				t.Fatal(err)
			}
			err := aud.Append(tc.header, []byte(tc.payload))
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Index != 1 {
				t.Errorf("Append(%s) = %v, want an EntryError at index 1", tc.name, err)
			}
		})
	}
}

func TestVerifyReceipt(t *testing.T) {
	const origin = "akashi.example.jp/ledger"
	s, v, _ := testKey(t, origin)
	ref := &memTree{}
	var headers [][]byte
	prev := GenesisChain
	for i := range uint64(10) {
		enc := Header{Index: i, Time: 5, PayloadDigest: PayloadDigest([]byte{byte(i)}), PrevChain: prev}.Marshal()
		headers = append(headers, enc)
		ref.add(t, int64(i), enc)
		prev = ChainHash(prev, LeafHash(enc))
	}
	root, _ := tlog.TreeHash(10, ref)
	signed, _ := SignCheckpoint(Checkpoint{Origin: origin, Size: 10, Root: root}, s)
	p, _ := tlog.ProveRecord(10, 3, ref)
	h3, _ := ParseHeader(headers[3])
	good := Receipt{Index: 3, Header: headers[3], LeafHash: LeafHash(headers[3]), ChainHash: ChainHash(h3.PrevChain, LeafHash(headers[3])), Checkpoint: signed, Proof: p}
	if _, _, err := VerifyReceipt(&good, origin, v); err != nil {
		t.Fatalf("VerifyReceipt(good) = %v", err)
	}
	if err := good.CheckPayload([]byte{3}); err != nil {
		t.Errorf("CheckPayload(right) = %v", err)
	}
	if err := good.CheckPayload([]byte{4}); !errors.Is(err, ErrMismatch) {
		t.Errorf("CheckPayload(wrong) = %v, want ErrMismatch", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(r *Receipt)
		want error
	}{
		{"index", func(r *Receipt) { r.Index = 4 }, ErrMismatch},
		{"leaf", func(r *Receipt) { r.LeafHash[0] ^= 1 }, ErrMismatch},
		{"chain", func(r *Receipt) { r.ChainHash[0] ^= 1 }, ErrMismatch},
		{"header", func(r *Receipt) { r.Header = headers[4] }, ErrMismatch},
		{"proof", func(r *Receipt) { r.Proof = append([]Hash(nil), r.Proof...); r.Proof[0][0] ^= 1 }, ErrBadProof},
		{"checkpoint", func(r *Receipt) { r.Checkpoint = bytes.Replace(r.Checkpoint, []byte("\n10\n"), []byte("\n11\n"), 1) }, ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			tc.mod(&r)
			if _, _, err := VerifyReceipt(&r, origin, v); !errors.Is(err, tc.want) {
				t.Errorf("VerifyReceipt(bad %s) = %v, want %v", tc.name, err, tc.want)
			}
		})
	}
	if ch, err := ChainHead(headers[9]); err != nil || ch != prev {
		t.Errorf("ChainHead(last header) = %v, %v; want %v", ch, err, prev)
	}
}
