// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

var (
	cliOnce sync.Once
	cliBin  string
	cliErr  error
)

// akashiBinary builds the akashi binary once per test run.
func akashiBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "akashi-cli-")
		if err != nil {
			cliErr = err
			return
		}
		cliBin = filepath.Join(dir, "akashi")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		out, err := exec.Command(goTool, "build", "-o", cliBin, ".").CombinedOutput()
		if err != nil {
			cliErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliBin
}

// cli runs the built binary against a server.
type cli struct {
	t      *testing.T
	dir    string // working directory
	server string
	key    string // the log's verifier key
}

func newCLI(t *testing.T, s *testServer) *cli {
	t.Helper()
	info, err := s.client.GetLogInfo(t.Context(), &akashiv1.GetLogInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, dir: t.TempDir(), server: s.grpcAddr, key: info.GetVerifierKey()}
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs akashi with args (the server and pinned key added to every
// command that takes them) and stdin.
func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	full := append([]string(nil), args...)
	if len(args) > 0 && args[0] != "keygen" && args[0] != "verify" && args[0] != "withhold" && !strings.HasPrefix(args[len(args)-1], "-h") {
		// Flags go before positional arguments: put ours first.
		at := 1
		if args[0] == "agency" || args[0] == "proof" {
			at = 2
		}
		full = append(append(append([]string(nil), args[:at]...), "--server", c.server, "--log-key", c.key), args[at:]...)
	}
	cmd := exec.Command(akashiBinary(c.t), full...)
	cmd.Dir = c.dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// must runs a command that must exit with code want.
func (c *cli) must(want int, args ...string) result {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != want {
		c.t.Fatalf("akashi %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

func (c *cli) write(name, content string) string {
	c.t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// setupAgency makes a key for Tokyo and registers it with the governance
// key of the server in dir.
func (c *cli) setupAgency(dataDir string) {
	c.t.Helper()
	c.must(0, "keygen", "--out", "tokyo.key")
	gov := filepath.Join(dataDir, "governance.key")
	r := c.must(0, "agency", "register", "--governance-key", gov, "--agency", "JP-JCN-8000020130001", "--name", "東京都", "--key", "tokyo.key", "--label", "福祉局 1")
	if !strings.Contains(r.stdout, "registered key") {
		c.t.Fatalf("agency register said %q", r.stdout)
	}
}

const decisionYAML = `# A decision of Tokyo.
id: tokyo-dec-0001
process_id: tokyo-dec-0001
tag: TAG_NEW
publisher: {id: JP-JCN-8000020130001, name: 東京都}
recorded_at: "2020-04-07T19:00:00+09:00"
jurisdiction: "130001"
decision:
  title: 感染拡大防止協力金
  type: DECISION_TYPE_SUBSIDY_PROGRAMME
  decision_date: 2020-04-10
  status: DECISION_STATUS_IN_FORCE
`

func TestCLIHelp(t *testing.T) {
	c := &cli{t: t, dir: t.TempDir()}
	for _, cmd := range [][]string{
		{"keygen"}, {"log"}, {"agency"}, {"agency", "register"}, {"agency", "rotate"}, {"agency", "revoke"},
		{"append"}, {"import"}, {"get"}, {"proof"}, {"proof", "inclusion"}, {"verify"}, {"audit"}, {"monitor"}, {"export"}, {"withhold"},
	} {
		t.Run(strings.Join(cmd, " "), func(t *testing.T) {
			r := c.must(0, append(cmd, "--help")...)
			if !strings.Contains(r.stderr, "Usage: akashi "+cmd[0]) || (len(cmd) == 1 && cmd[0] != "agency" && cmd[0] != "proof" && !strings.Contains(r.stderr, "Exit codes")) {
				t.Errorf("akashi %s --help printed %q", strings.Join(cmd, " "), r.stderr)
			}
		})
	}
	if r := c.run("", "get", "--no-such-flag"); r.code != exitUsage {
		t.Errorf("an unknown flag: exit %d, want %d", r.code, exitUsage)
	}
}

func TestCLIPublishAndVerify(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	c := newCLI(t, s)
	c.setupAgency(dataDir)

	// log: the identity, pinned.
	var info struct {
		Origin      string
		VerifierKey string `json:"verifier_key"`
		Size        uint64
	}
	r := c.must(0, "log", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || info.VerifierKey != c.key || info.Size < 2 {
		t.Fatalf("log --json = %s, %v", r.stdout, err)
	}
	// A wrong pinned key is refused.
	if r := c.run("", "log", "--log-key", "test.akashi.example/log+00000000+AYhSAqaIwWqXbWk6TRa+BMNRhiZ0vgtO0JU35x4cpPXY"); r.code == 0 {
		t.Fatalf("log with a wrong key: exit 0\n%s", r.stdout)
	}

	// append from YAML, from stdin as JSON, and an invalid record.
	c.write("dec.yaml", decisionYAML)
	r = c.must(0, "append", "--key", "tokyo.key", "--receipt", "dec.receipt", "dec.yaml")
	if !strings.Contains(r.stdout, "appended: record tokyo-dec-0001") {
		t.Fatalf("append said %q", r.stdout)
	}
	// Again: the original receipt, nothing new.
	r = c.must(0, "append", "--key", "tokyo.key", "dec.yaml")
	if !strings.Contains(r.stdout, "already in the log") {
		t.Fatalf("append again said %q", r.stdout)
	}
	jsonRecord := `{"id":"tokyo-dec-0002","processId":"tokyo-dec-0002","tag":"TAG_NEW","publisher":{"id":"JP-JCN-8000020130001","name":"東京都"},"recordedAt":"2020-04-08T10:00:00+09:00","decision":{"title":"延長","type":"DECISION_TYPE_POLICY","decisionDate":"2020-04-08","status":"DECISION_STATUS_IN_FORCE"}}`
	if r := c.run(jsonRecord, "append", "--key", "tokyo.key", "--json", "-"); r.code != 0 || !strings.Contains(r.stdout, `"record_id": "tokyo-dec-0002"`) {
		t.Fatalf("append from stdin: %+v", r)
	}
	c.write("bad.yaml", strings.Replace(decisionYAML, "decision_date: 2020-04-10", "decision_date: 2020-04-31", 1))
	if r := c.must(exitRejected, "append", "--key", "tokyo.key", "bad.yaml"); !strings.Contains(r.stderr, "record.decision.decision_date") {
		t.Fatalf("append of an invalid record said %q", r.stderr)
	}
	c.write("unknown.yaml", decisionYAML+"colour: blue\n")
	c.must(exitRejected, "append", "--key", "tokyo.key", "unknown.yaml")

	// get, by id and by index, verified.
	var got struct {
		Index     uint64
		KeyID     string `json:"key_id"`
		TreeSize  uint64 `json:"tree_size"`
		Statement struct {
			Record struct{ ID string }
		}
	}
	r = c.must(0, "get", "--json", "tokyo-dec-0001")
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Statement.Record.ID != "tokyo-dec-0001" || got.TreeSize == 0 {
		t.Fatalf("get --json = %s, %v", r.stdout, err)
	}
	r = c.must(0, "get", "--receipt", "got.receipt", fmt.Sprint(got.Index))
	if !strings.Contains(r.stdout, "verified: signature, payload digest, and inclusion") {
		t.Fatalf("get said %q", r.stdout)
	}
	c.must(exitError, "get", "no-such-record")

	// verify receipts offline; a tampered one fails.
	for _, f := range []string{"dec.receipt", "got.receipt"} {
		if r := c.must(0, "verify", "--log-key", c.key, f); !strings.Contains(r.stdout, "signer's signature") {
			t.Fatalf("verify %s said %q", f, r.stdout)
		}
	}
	b, _ := os.ReadFile(filepath.Join(c.dir, "dec.receipt"))
	var rc map[string]any
	json.Unmarshal(b, &rc)
	rc["index"] = rc["index"].(float64) + 1
	tampered, _ := json.Marshal(rc)
	c.write("tampered.receipt", string(tampered))
	c.must(exitVerify, "verify", "--log-key", c.key, "tampered.receipt")
	c.must(exitUsage, "verify", "dec.receipt") // no key: nothing to trust

	// proofs.
	size := s.size()
	if r := c.must(0, "proof", "inclusion", "--index", fmt.Sprint(got.Index)); !strings.Contains(r.stdout, "verified: entry") {
		t.Fatalf("proof inclusion said %q", r.stdout)
	}
	var withLeaf struct {
		LeafHash string `json:"leaf_hash"`
	}
	json.Unmarshal([]byte(c.must(0, "get", "--json", "tokyo-dec-0002").stdout), &withLeaf)
	if r := c.must(0, "proof", "inclusion", "--leaf-hash", withLeaf.LeafHash, "--json"); !strings.Contains(r.stdout, `"verified": true`) {
		t.Fatalf("proof inclusion --leaf-hash said %q", r.stdout)
	}
	first := uint64(1)
	if r := c.must(0, "proof", "consistency", "--first", fmt.Sprint(first)); !strings.Contains(r.stdout, fmt.Sprintf("extends the tree of size %d", first)) {
		t.Fatalf("proof consistency said %q", r.stdout)
	}

	// rotate and revoke.
	c.must(0, "keygen", "--out", "tokyo2.key")
	var k1 struct {
		KeyID string `json:"key_id"`
	}
	json.Unmarshal([]byte(c.must(0, "get", "--json", "tokyo-dec-0001").stdout), &k1)
	gov := filepath.Join(dataDir, "governance.key")
	c.must(0, "agency", "rotate", "--governance-key", gov, "--agency", "JP-JCN-8000020130001", "--name", "東京都", "--key", "tokyo2.key", "--old-key-id", k1.KeyID)
	c.write("dec3.yaml", strings.ReplaceAll(decisionYAML, "tokyo-dec-0001", "tokyo-dec-0003"))
	c.must(exitRejected, "append", "--key", "tokyo.key", "dec3.yaml") // revoked
	c.must(0, "append", "--key", "tokyo2.key", "dec3.yaml")
	if r := c.must(0, "agency", "list"); !strings.Contains(r.stdout, "revoked at entry") {
		t.Fatalf("agency list said %q", r.stdout)
	}
	if s.size() != size+3 {
		t.Fatalf("log size %d, want %d", s.size(), size+3)
	}
	r = c.must(0, "audit")
	if !strings.Contains(r.stdout, "OK: the log") {
		t.Fatalf("audit said %q", r.stdout)
	}
}

// paymentsCSV is a CSV of disbursements with bad rows among good ones.
func paymentsCSV(n int) (string, map[int]string) {
	var b strings.Builder
	b.WriteString("payment_id,recorded_at,application,amount_yen,paid_on,payee_org_id,payee_name,ward,shops,person_name,person_address,request\n")
	bad := map[int]string{}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("pay-%04d", i)
		amount, date, org, ward, req := "500000", "2020-05-12", "JP-JCN-1180301018771", "131041", ""
		name, addr := "", ""
		switch i {
		case 5:
			amount, bad[i] = "-500000", "record.disbursement.amount.minor_units"
		case 9:
			date, bad[i] = "2020-02-30", "record.disbursement.value_date"
		case 13:
			org, bad[i] = "JP-JCN-1180301018772", "record.disbursement.payee.organization.id"
		case 17:
			amount, bad[i] = "lots", "not an akashi.v1.Record"
		case 21:
			req, bad[i] = "no-such-request", "related_request"
		case 3, 11:
			org, name, addr = "", "山田 花子", "東京都新宿区西新宿2-8-1"
		}
		if i == 25 {
			b.WriteString("pay-0025,too,few,fields\n")
			bad[i] = "fields"
			continue
		}
		fmt.Fprintf(&b, "%s,2020-05-12T10:00:00+09:00,A-%04d,%s,%s,%s,株式会社サンプル%d,%s,1,%s,%s,%s\n", id, i, amount, date, org, i, ward, name, addr, req)
	}
	return b.String(), bad
}

const paymentsMap = `
template:
  tag: TAG_NEW
  publisher: {id: JP-JCN-8000020130001, name: 東京都}
  disbursement:
    programme: {code: TKY-2020-KYORYOKUKIN-1, title: 感染拡大防止協力金}
    transaction_type: TRANSACTION_TYPE_DISBURSEMENT
    payer: {id: JP-JCN-8000020130001, name: 東京都}
    amount: {currency: JPY}
columns:
  id: payment_id
  process_id: payment_id
  recorded_at: recorded_at
  disbursement.award_id: application
  disbursement.amount.minor_units: amount_yen
  disbursement.value_date: paid_on
  disbursement.payee.organization.id: payee_org_id
  disbursement.payee.organization.name: payee_name
  disbursement.payee_area: ward
  disbursement.facility_count: shops
  disbursement.related_request.id: request
personal:
  payee: disbursement.payee
  fields: {name: person_name, address: person_address}
  secrets: salts.csv
`

func TestCLIImport(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	c := newCLI(t, s)
	c.setupAgency(dir)
	const rows = 60
	data, bad := paymentsCSV(rows)
	c.write("payments.csv", data)
	c.write("map.yaml", paymentsMap)
	before := s.size()
	r := c.must(exitRejected, "import", "--key", "tokyo.key", "--map", "map.yaml", "--batch", "16", "--rejects", "rejects.csv", "--progress", "always", "payments.csv")
	if !strings.Contains(r.stdout, fmt.Sprintf("accepted: %d", rows-len(bad))) || !strings.Contains(r.stdout, fmt.Sprintf("rejected: %d", len(bad))) {
		t.Fatalf("import said:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "100%") {
		t.Errorf("no progress bar on stderr: %q", r.stderr)
	}
	for row, why := range bad {
		if !strings.Contains(r.stdout, fmt.Sprintf("row %d", row)) || !strings.Contains(r.stdout, why) {
			t.Errorf("the summary does not report row %d for %q:\n%s", row, why, r.stdout)
		}
	}
	rej, _ := os.ReadFile(filepath.Join(c.dir, "rejects.csv"))
	if got := strings.Count(string(rej), "\n"); got != len(bad)+1 {
		t.Errorf("rejects.csv has %d lines, want %d", got, len(bad)+1)
	}
	if got, want := s.size(), before+uint64(rows-len(bad)); got != want {
		t.Fatalf("log size %d, want %d: bad rows must not be stored", got, want)
	}
	// Personal payees: an opaque id and a commitment in the log, the
	// salt in the secrets file, the name nowhere in the log.
	salts, _ := os.ReadFile(filepath.Join(c.dir, "salts.csv"))
	if !strings.Contains(string(salts), "pay-0003,P-") || !strings.Contains(string(salts), "pay-0011,P-") {
		t.Fatalf("salts.csv = %q", salts)
	}
	r = c.must(0, "get", "--json", "pay-0003")
	if strings.Contains(r.stdout, "山田") || !strings.Contains(r.stdout, `"individual"`) || !strings.Contains(r.stdout, `"commitment"`) {
		t.Fatalf("the personal payee's record = %s", r.stdout)
	}

	// Run again: the state says it is done.
	r = c.must(exitRejected, "import", "--key", "tokyo.key", "--map", "map.yaml", "payments.csv")
	if s.size() != before+uint64(rows-len(bad)) {
		t.Fatal("a second run stored records again")
	}
	// Without its state (a lost state file): every record is found in the
	// log, none stored twice, the personal payees made the same again.
	os.Remove(filepath.Join(c.dir, "payments.csv.import-state"))
	r = c.must(exitRejected, "import", "--key", "tokyo.key", "--map", "map.yaml", "--json", "payments.csv")
	var sum struct {
		Accepted, Rejected int
		Already            int `json:"already_in_log"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(struct{ Accepted, Rejected, Already int }{rows - len(bad), len(bad), rows - len(bad)}, struct{ Accepted, Rejected, Already int }{sum.Accepted, sum.Rejected, sum.Already}); diff != "" {
		t.Fatalf("import without its state (-want +got):\n%s", diff)
	}
	if s.size() != before+uint64(rows-len(bad)) {
		t.Fatal("an import without its state stored records twice")
	}

	// JSON Lines, resumed part way: the state file says 2 rows are done.
	var jl strings.Builder
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&jl, `{"payment_id":"jl-%d","recorded_at":"2020-05-13T10:00:00+09:00","application":"B-%d","amount_yen":1000000,"paid_on":"2020-05-13","payee_org_id":"JP-JCN-1180301018771","payee_name":"株式会社サンプル","ward":"131016","shops":2,"person_name":null,"person_address":"","request":""}`+"\n", i, i)
	}
	c.write("more.jsonl", jl.String())
	c.must(0, "import", "--key", "tokyo.key", "--map", "map.yaml", "more.jsonl")
	if s.size() != before+uint64(rows-len(bad))+5 {
		t.Fatalf("after the JSON Lines import: size %d", s.size())
	}
}

// copyTree copies a stopped server's data folder.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// flipStored flips one bit of a stored value, behind the ledger's back.
func flipStored(t *testing.T, ledgerDir string, key []byte, at int) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(ledgerDir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		v[at] ^= 0x04
		return txn.Set(key, v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// payloadByte finds where entry i's payload is stored: the key of the
// payload group that holds it and the offset of the payload's byte at in
// the group (version:1, count:4, count lengths:4, then the payloads).
func payloadByte(t *testing.T, ledgerDir string, i uint64, at int) ([]byte, int) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(ledgerDir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var key []byte
	var off int
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{'P'}})
		defer it.Close()
		it.Seek(binary.BigEndian.AppendUint64([]byte{'P'}, i))
		if !it.Valid() {
			return fmt.Errorf("no payload group holds entry %d", i)
		}
		key = it.Item().KeyCopy(nil)
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		count := uint64(binary.BigEndian.Uint32(v[1:]))
		first := binary.BigEndian.Uint64(key[1:]) + 1 - count
		off = 5 + 4*int(count)
		for j := first; j < i; j++ {
			off += int(binary.BigEndian.Uint32(v[5+4*(j-first):]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return key, off + at
}

// TestCLIAuditFindsTampering: an agency imports, an auditor verifies the
// log; then the data folder is copied with the server stopped, one byte
// of a stored payload (or header) is flipped in the copy, the copy is
// served, and the audit fails naming the entry.
func TestCLIAuditFindsTampering(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	c := newCLI(t, s)
	c.setupAgency(dir)
	data, _ := paymentsCSV(300)
	c.write("payments.csv", data)
	c.write("map.yaml", paymentsMap)
	c.must(exitRejected, "import", "--key", "tokyo.key", "--map", "map.yaml", "payments.csv")
	r := c.must(0, "audit", "--state", "audit.state")
	if !strings.Contains(r.stdout, "OK: the log") {
		t.Fatalf("audit said %q", r.stdout)
	}
	// Resume: nothing new, still OK.
	if r := c.must(0, "audit", "--state", "audit.state"); !strings.Contains(r.stdout, "extends the one verified before") {
		t.Fatalf("resumed audit said %q", r.stdout)
	}
	// Export now, to check offline below.
	c.must(0, "export", "-o", "log.ndjson")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	type tamper struct {
		name  string
		key   []byte
		at    int
		index uint64
	}
	key, at := payloadByte(t, filepath.Join(dir, "ledger"), 123, 30)
	cases := []tamper{{"a payload byte", key, at, 123}}
	for _, tc := range []tamper{
		// Entry 200's header in entry bundle 0: 2-byte length, then 81 bytes
		// per entry; byte 20 of the header is in its payload digest.
		{"a header byte", []byte{'E', 0, 0, 0, 0, 0, 0, 0, 0}, 200*(2+81) + 2 + 20, 200},
		// Byte 8 of a header is the last of its index: the server itself
		// refuses to serve the entry.
		{"a header's index", []byte{'E', 0, 0, 0, 0, 0, 0, 0, 0}, 200*(2+81) + 2 + 8, 200},
	} {
		cases = append(cases, tc)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			copyDir := t.TempDir()
			copyTree(t, dir, copyDir)
			flipStored(t, filepath.Join(copyDir, "ledger"), tc.key, tc.at)
			s2 := startServer(t, copyDir)
			c2 := *c
			c2.t, c2.server = t, s2.grpcAddr
			r := c2.run("", "audit")
			if r.code != exitVerify || !strings.Contains(r.stdout, fmt.Sprintf("FAILED entry %d", tc.index)) {
				t.Fatalf("audit of a tampered copy: exit %d, want %d naming entry %d\n%s%s", r.code, exitVerify, tc.index, r.stdout, r.stderr)
			}
		})
	}

	// The export verifies offline; a flipped byte in it does not.
	if r := c.must(0, "verify", "--log-key", c.key, "log.ndjson"); !strings.Contains(r.stdout, "verified: the bundle") {
		t.Fatalf("verify bundle said %q", r.stdout)
	}
	b, _ := os.ReadFile(filepath.Join(c.dir, "log.ndjson"))
	lines := strings.Split(string(b), "\n")
	var e map[string]any
	json.Unmarshal([]byte(lines[101]), &e)
	p, _ := base64.StdEncoding.DecodeString(e["payload"].(string))
	p[10] ^= 1
	e["payload"] = base64.StdEncoding.EncodeToString(p)
	nb, _ := json.Marshal(e)
	lines[101] = string(nb)
	c.write("tampered.ndjson", strings.Join(lines, "\n"))
	if r := c.must(exitVerify, "verify", "--log-key", c.key, "tampered.ndjson"); !strings.Contains(r.stdout, "FAILED entry 100") {
		t.Fatalf("verify of a tampered bundle said %q", r.stdout)
	}
}

// TestCLIMonitorSplitView serves two copies of one data folder, appends
// different records to each (a log rewound and rewritten), and checks that
// the monitor comparing them raises the alarm.
func TestCLIMonitorSplitView(t *testing.T) {
	dirA := t.TempDir()
	s := startServer(t, dirA)
	c := newCLI(t, s)
	c.setupAgency(dirA)
	c.write("dec.yaml", decisionYAML)
	c.must(0, "append", "--key", "tokyo.key", "--signer-state", "none", "dec.yaml")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	dirB := t.TempDir()
	copyTree(t, dirA, dirB)
	a, b := startServer(t, dirA), startServer(t, dirB)
	ca, cb := *c, *c
	ca.server, cb.server = a.grpcAddr, b.grpcAddr
	ca.must(0, "monitor", "--once", "--compare", b.grpcAddr)
	for i, side := range []*cli{&ca, &cb} {
		for j := range 2 + i {
			side.write("d.yaml", strings.ReplaceAll(decisionYAML, "tokyo-dec-0001", fmt.Sprintf("side%d-%d", i, j)))
			side.must(0, "append", "--key", "tokyo.key", "--signer-state", "none", "d.yaml")
		}
	}
	r := ca.run("", "monitor", "--once", "--compare", b.grpcAddr)
	if r.code != exitVerify || !strings.Contains(r.stdout, "ALARM") || !strings.Contains(r.stdout, "split view") {
		t.Fatalf("monitor of a split view: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A monitor that watched A, then shown B: B is not what A showed.
	ca.must(0, "monitor", "--once", "--state", "mon2.state")
	cb.dir = ca.dir
	if r := cb.run("", "monitor", "--once", "--state", "mon2.state"); r.code != exitVerify || !strings.Contains(r.stdout, "ALARM") {
		t.Fatalf("monitor of B after A: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestCLIExportCSV(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	c := newCLI(t, s)
	c.setupAgency(dir)
	c.write("dec.yaml", decisionYAML)
	c.must(0, "append", "--key", "tokyo.key", "dec.yaml")
	c.must(0, "export", "--format", "csv", "-o", "log.csv")
	b, err := os.ReadFile(filepath.Join(c.dir, "log.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if uint64(len(lines)) != s.size()+1 || !strings.Contains(lines[len(lines)-1], "tokyo-dec-0001") || !strings.HasPrefix(lines[0], "index,integrated_at") {
		t.Fatalf("log.csv:\n%s", b)
	}
	cp, err := os.ReadFile(filepath.Join(c.dir, "log.csv.checkpoint"))
	if err != nil || !strings.Contains(string(cp), fmt.Sprintf("\n%d\n", s.size())) {
		t.Fatalf("log.csv.checkpoint = %q, %v", cp, err)
	}
}

// TestCLIOverTLS pins both the server's certificate (--tls-ca) and the
// log's key.
func TestCLIOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir)
	addrs, _ := runServe(t, serveConfig{DataDir: filepath.Join(dir, "data"), TLSCert: certFile, TLSKey: keyFile})
	c := &cli{t: t, dir: dir, server: addrs[0].String()}
	r := c.must(0, "log", "--server", c.server, "--tls-ca", certFile, "--json")
	var info struct {
		VerifierKey string `json:"verifier_key"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || !strings.HasPrefix(info.VerifierKey, testOrigin+"+") {
		t.Fatalf("log over TLS = %s, %v", r.stdout, err)
	}
	if !strings.Contains(r.stderr, "warning: no --log-key") {
		t.Errorf("no warning without a pinned key: %q", r.stderr)
	}
	c.must(0, "audit", "--server", c.server, "--tls-ca", certFile, "--log-key", info.VerifierKey)
	// Without the CA, the server's certificate is not trusted.
	if r := c.run("", "log", "--server", c.server, "--tls", "--log-key", info.VerifierKey); r.code != exitError {
		t.Fatalf("log over TLS without the CA: exit %d\n%s", r.code, r.stderr)
	}
}
