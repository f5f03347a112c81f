// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/akashi-ledger/akashi/client"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// importMapping is the mapping file of akashi import.
type importMapping struct {
	// Template holds the fields every record shares, in the protobuf JSON
	// form of akashi.v1.Record.
	Template map[string]any `json:"template"`
	// Columns maps a record field path (dotted, protobuf JSON names; a
	// trailing [] splits the value on "|" into a list) to a column.
	Columns map[string]string `json:"columns"`
	// Personal, if set, makes the payee of a row whose personal-data
	// columns are not all empty a natural person: an opaque id and a
	// salted commitment; the data stays in the input file and the salts go
	// to Secrets, never to the log.
	Personal *struct {
		Payee   string            `json:"payee"`
		Fields  map[string]string `json:"fields"`
		Secrets string            `json:"secrets"`
	} `json:"personal"`
}

// importState is what the import's state file holds.
type importState struct {
	Version  int      `json:"version"`
	Input    string   `json:"input"`
	Size     int64    `json:"size"`
	Mapping  string   `json:"mapping_sha256"`
	Origin   string   `json:"origin"`
	KeyID    string   `json:"key_id"`
	NextRow  int      `json:"next_row"` // rows before it are done
	Accepted int      `json:"accepted"`
	Existing int      `json:"existing"`
	Rejected int      `json:"rejected"`
	Rejects  []reject `json:"rejects,omitempty"`
}

type reject struct {
	Row      int    `json:"row"`
	RecordID string `json:"record_id,omitempty"`
	Reason   string `json:"reason"`
}

// importRow is a row of the input: its number (from 1) and its cells.
type importRow struct {
	n      int
	cells  map[string]string
	broken error // the row could not be read
}

func importCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", "import --key KEY --map MAPPING [flags] FILE", `
Signs and appends one record per row of a CSV file (UTF-8, with a header
row) or a JSON Lines file, using a mapping from columns to record fields.
Rows are validated as the server validates them; a bad row is reported with
its number and the reason, and not stored. Records go over one stream, many
in flight, each receipt verified. The import is resumable: its progress is
saved after every batch (--state), and a rerun continues where it stopped;
records already in the log are recognised, not stored twice.

The mapping (YAML or JSON) gives the fields every record shares and the
column of each field that varies:

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
  personal:              # optional: payees who are natural persons
    payee: disbursement.payee
    fields: {name: person_name, address: person_address}
    secrets: salts.csv   # payee ids and salts, kept by the agency

An empty cell leaves its field unset.`, stderr)
	var cf clientFlags
	cf.register(fs)
	var sf signerFlags
	sf.register(fs)
	mapFile := fs.String("map", "", "the mapping file (YAML or JSON; required)")
	format := fs.String("format", "", "csv or jsonl (default: from the file's extension)")
	statePath := fs.String("state", "", "the import's state file, to resume (default <FILE>.import-state)")
	batch := fs.Int("batch", 1000, "rows per batch (and per saved state)")
	rejectsOut := fs.String("rejects", "", "write every rejected row to this CSV file (row, record_id, reason)")
	prog := progressFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"import takes one input file"}
	}
	in := fs.Arg(0)
	if *mapFile == "" {
		return usageError{"--map is required"}
	}
	if *format == "" {
		switch strings.ToLower(filepath.Ext(in)) {
		case ".csv":
			*format = "csv"
		case ".jsonl", ".ndjson":
			*format = "jsonl"
		default:
			return usageError{fmt.Sprintf("--format: cannot tell the format of %s; give csv or jsonl", in)}
		}
	}
	if *format != "csv" && *format != "jsonl" {
		return usageError{fmt.Sprintf("--format: got %q, want csv or jsonl", *format)}
	}
	if *batch < 1 {
		return usageError{"--batch must be at least 1"}
	}
	bar, err := newProgressBar(*prog, "import", stderr)
	if err != nil {
		return err
	}
	mb, err := os.ReadFile(*mapFile)
	if err != nil {
		return err
	}
	var m importMapping
	if j, err := toJSON(mb); err != nil {
		return usageError{fmt.Sprintf("--map %s: %v", *mapFile, err)}
	} else if err := json.Unmarshal(j, &m); err != nil {
		return usageError{fmt.Sprintf("--map %s: %v", *mapFile, err)}
	}
	if len(m.Columns) == 0 {
		return usageError{fmt.Sprintf("--map %s: no columns", *mapFile)}
	}
	if m.Personal != nil && (len(m.Personal.Fields) == 0 || m.Personal.Secrets == "") {
		return usageError{fmt.Sprintf("--map %s: personal needs fields and a secrets file", *mapFile)}
	}
	if m.Personal != nil && m.Personal.Payee == "" {
		m.Personal.Payee = "disbursement.payee"
	}
	abs, err := filepath.Abs(in)
	if err != nil {
		return err
	}
	st, err := os.Stat(in)
	if err != nil {
		return err
	}
	if *statePath == "" {
		*statePath = in + ".import-state"
	}
	mh := sha256.Sum256(mb)

	total, err := countRows(in, *format)
	if err != nil {
		return err
	}
	c, err := cf.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	signer, err := sf.open(ctx, c)
	if err != nil {
		return err
	}
	state := importState{Version: 1, Input: abs, Size: st.Size(), Mapping: hex.EncodeToString(mh[:]), Origin: c.Origin(), KeyID: signer.KeyID()}
	if b, err := os.ReadFile(*statePath); err == nil {
		var old importState
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("--state %s: %w", *statePath, err)
		}
		if old.Input != state.Input || old.Size != state.Size || old.Mapping != state.Mapping || old.Origin != state.Origin || old.KeyID != state.KeyID {
			return fmt.Errorf("--state %s is the state of another import (input, mapping, log or key differ): remove it, or give another --state", *statePath)
		}
		state = old
		if state.NextRow > 0 {
			fmt.Fprintf(stderr, "resuming after row %d of %s\n", state.NextRow, in)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	secrets, err := openSecrets(m)
	if err != nil {
		return err
	}
	defer secrets.close()

	rows, closeInput, err := readRows(in, *format)
	if err != nil {
		return err
	}
	defer closeInput()
	save := func() error {
		b, err := json.MarshalIndent(&state, "", "  ")
		if err != nil {
			return err
		}
		return writeAtomic(*statePath, append(b, '\n'))
	}
	bar.update(uint64(state.NextRow), uint64(total), "", false)
	var pending []importRow
	seen := state.NextRow // the last row read
	flush := func() error {
		if len(pending) == 0 {
			if seen > state.NextRow {
				state.NextRow = seen
				return save()
			}
			return nil
		}
		var records []*akashiv1.Record
		var recRows []importRow
		for _, row := range pending {
			r, err := m.convert(row, secrets)
			if err == nil {
				err = record.ValidateRecord(r)
			}
			if err != nil {
				state.reject(row.n, r.GetId(), err)
				continue
			}
			records = append(records, r)
			recRows = append(recRows, row)
		}
		if err := secrets.sync(); err != nil {
			return err
		}
		if len(records) > 0 {
			results, err := signer.AppendAll(ctx, records, client.BulkOptions{})
			if err != nil {
				return classify(err)
			}
			for i, res := range results {
				switch {
				case res.Err != nil:
					state.reject(recRows[i].n, records[i].GetId(), res.Err)
				case res.Receipt.Existing || res.Receipt.Duplicate:
					state.Accepted++
					state.Existing++
				default:
					state.Accepted++
				}
			}
		}
		state.NextRow = seen
		pending = pending[:0]
		bar.update(uint64(state.NextRow), uint64(total), fmt.Sprintf("%d rejected", state.Rejected), false)
		return save()
	}
	for row := range rows {
		if row.n <= state.NextRow {
			continue
		}
		seen = row.n
		if row.broken != nil {
			state.reject(row.n, "", row.broken)
			continue
		}
		pending = append(pending, row)
		if len(pending) == *batch {
			if err := flush(); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() == nil {
		if err := flush(); err != nil {
			return err
		}
	}
	bar.update(uint64(state.NextRow), uint64(total), fmt.Sprintf("%d rejected", state.Rejected), true)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted after row %d; run again to resume", state.NextRow)
	}
	sort.SliceStable(state.Rejects, func(i, j int) bool { return state.Rejects[i].Row < state.Rejects[j].Row })
	if *rejectsOut != "" {
		if err := writeRejects(*rejectsOut, state.Rejects); err != nil {
			return err
		}
	}
	if cf.json {
		if err := printJSON(stdout, map[string]any{"input": in, "rows": state.NextRow, "accepted": state.Accepted, "already_in_log": state.Existing, "rejected": state.Rejected, "rejects": state.Rejects}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "imported %s: %d rows\n  accepted: %d (%d of them already in the log), every receipt verified\n  rejected: %d\n",
			in, state.NextRow, state.Accepted, state.Existing, state.Rejected)
		for i, r := range state.Rejects {
			if i == 20 {
				fmt.Fprintf(stdout, "    ... and %d more (--rejects FILE lists them all)\n", len(state.Rejects)-20)
				break
			}
			id := ""
			if r.RecordID != "" {
				id = " (" + r.RecordID + ")"
			}
			fmt.Fprintf(stdout, "    row %d%s: %s\n", r.Row, id, r.Reason)
		}
	}
	if state.Rejected > 0 {
		return codedError{exitRejected, fmt.Errorf("%d of %d rows rejected", state.Rejected, state.NextRow)}
	}
	return nil
}

func (s *importState) reject(row int, id string, err error) {
	s.Rejected++
	s.Rejects = append(s.Rejects, reject{Row: row, RecordID: id, Reason: err.Error()})
}

// convert makes the record of a row.
func (m *importMapping) convert(row importRow, secrets *secretsFile) (*akashiv1.Record, error) {
	tb, err := json.Marshal(m.Template)
	if err != nil {
		return nil, err
	}
	obj := map[string]any{}
	if err := json.Unmarshal(tb, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		obj = map[string]any{}
	}
	paths := make([]string, 0, len(m.Columns))
	for p := range m.Columns {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		col := m.Columns[p]
		v, ok := row.cells[col]
		if !ok {
			return nil, fmt.Errorf("no column %q (mapped to %s)", col, p)
		}
		if v == "" {
			continue
		}
		var val any = v
		if name, ok := strings.CutSuffix(p, "[]"); ok {
			p = name
			var list []any
			for _, x := range strings.Split(v, "|") {
				list = append(list, strings.TrimSpace(x))
			}
			val = list
		}
		if err := setPath(obj, p, val); err != nil {
			return nil, err
		}
	}
	var personal *client.Personal
	if m.Personal != nil {
		fields := map[string]string{}
		for k, col := range m.Personal.Fields {
			v, ok := row.cells[col]
			if !ok {
				return nil, fmt.Errorf("no column %q (personal field %s)", col, k)
			}
			if v != "" {
				fields[k] = v
			}
		}
		if len(fields) > 0 {
			id, _ := obj["id"].(string)
			if saved := secrets.known[id]; saved != nil {
				// Made before an interruption: the same id and salt give
				// the same record again.
				if personal, err = client.RestorePersonal(saved.ID, saved.Salt, fields); err != nil {
					return nil, err
				}
			} else if personal, err = client.NewPersonal(fields); err != nil {
				return nil, err
			}
			payee := map[string]any{"individual": map[string]any{"id": personal.ID, "commitment": base64.StdEncoding.EncodeToString(personal.Commitment[:])}}
			if err := setPath(obj, m.Personal.Payee, payee); err != nil {
				return nil, err
			}
		}
	}
	r, err := recordFromJSON(obj)
	if err != nil {
		return nil, err
	}
	if personal != nil {
		if err := secrets.add(r.GetId(), personal); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// setPath sets obj's field at a dotted path, making the objects on the way.
func setPath(obj map[string]any, path string, v any) error {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			if obj[p] != nil {
				return fmt.Errorf("field %s: %s is not an object", path, p)
			}
			next = map[string]any{}
			obj[p] = next
		}
		obj = next
	}
	obj[parts[len(parts)-1]] = v
	return nil
}

// countRows counts the data rows of the input, for the progress bar.
func countRows(path, format string) (int, error) {
	rows, closeInput, err := readRows(path, format)
	if err != nil {
		return 0, err
	}
	defer closeInput()
	n := 0
	for range rows {
		n++
	}
	return n, nil
}

// readRows reads the rows of a CSV or JSON Lines file.
func readRows(path, format string) (func(func(importRow) bool), func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	closeInput := func() { f.Close() }
	if format == "jsonl" {
		return func(yield func(importRow) bool) {
			sc := bufio.NewScanner(br)
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			n := 0
			for sc.Scan() {
				line := strings.TrimSpace(sc.Text())
				if line == "" {
					continue
				}
				n++
				row := importRow{n: n, cells: map[string]string{}}
				dec := json.NewDecoder(strings.NewReader(line))
				dec.UseNumber()
				var obj map[string]any
				if err := dec.Decode(&obj); err != nil {
					row.broken = fmt.Errorf("not a JSON object: %v", err)
				}
				for k, v := range obj {
					switch x := v.(type) {
					case nil:
						row.cells[k] = ""
					case string:
						row.cells[k] = x
					case json.Number:
						row.cells[k] = x.String()
					case bool:
						row.cells[k] = strconv.FormatBool(x)
					default:
						b, _ := json.Marshal(x)
						row.cells[k] = string(b)
					}
				}
				if !yield(row) {
					return
				}
			}
			if err := sc.Err(); err != nil {
				yield(importRow{n: n + 1, broken: err})
			}
		}, closeInput, nil
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: reading the header row: %w", path, err)
	}
	return func(yield func(importRow) bool) {
		n := 0
		for {
			cells, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			n++
			row := importRow{n: n, cells: map[string]string{}}
			var pe *csv.ParseError
			switch {
			case errors.As(err, &pe):
				row.broken = fmt.Errorf("line %d: %v", pe.Line, pe.Err)
			case err != nil:
				yield(importRow{n: n, broken: err})
				return
			case len(cells) != len(header):
				line, _ := cr.FieldPos(0)
				row.broken = fmt.Errorf("line %d: %d fields, the header has %d", line, len(cells), len(header))
			default:
				for i, h := range header {
					row.cells[strings.TrimSpace(h)] = strings.TrimSpace(cells[i])
				}
			}
			if !yield(row) {
				return
			}
		}
	}, closeInput, nil
}

func writeRejects(path string, rejects []reject) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"row", "record_id", "reason"})
	for _, r := range rejects {
		w.Write([]string{strconv.Itoa(r.Row), r.RecordID, r.Reason})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// secretsFile keeps the payee ids and salts of personal payees: CSV of
// record_id, payee_id, salt (hex), appended and synced before the records
// are sent, and read back on resume so that a record is made again with
// the same id and commitment.
type secretsFile struct {
	f     *os.File
	w     *csv.Writer
	known map[string]*client.Personal
	dirty bool
}

func openSecrets(m importMapping) (*secretsFile, error) {
	s := &secretsFile{known: map[string]*client.Personal{}}
	if m.Personal == nil {
		return s, nil
	}
	path := m.Personal.Secrets
	if b, err := os.ReadFile(path); err == nil {
		rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil {
			return nil, fmt.Errorf("secrets file %s: %w", path, err)
		}
		for _, r := range rows {
			if len(r) != 3 || r[0] == "record_id" {
				continue
			}
			p := &client.Personal{ID: r[1]}
			if _, err := hex.Decode(p.Salt[:], []byte(r[2])); err != nil {
				return nil, fmt.Errorf("secrets file %s: record %s: %w", path, r[0], err)
			}
			s.known[r[0]] = p
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	s.f, s.w = f, csv.NewWriter(f)
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		s.w.Write([]string{"record_id", "payee_id", "salt"})
	}
	return s, nil
}

func (s *secretsFile) add(recordID string, p *client.Personal) error {
	if s.w == nil || s.known[recordID] != nil {
		return nil
	}
	s.known[recordID] = p
	s.dirty = true
	return s.w.Write([]string{recordID, p.ID, hex.EncodeToString(p.Salt[:])})
}

func (s *secretsFile) sync() error {
	if s.w == nil || !s.dirty {
		return nil
	}
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return err
	}
	s.dirty = false
	return s.f.Sync()
}

func (s *secretsFile) close() {
	if s.f != nil {
		s.sync()
		s.f.Close()
	}
}
