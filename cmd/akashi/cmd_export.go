// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/akashi-ledger/akashi/client"
)

// csvColumns are the columns of a CSV export.
var csvColumns = []string{
	"index", "integrated_at", "key_id", "sequence", "kind", "publisher", "record_id", "process_id", "tag", "amends",
	"recorded_at", "title", "programme", "award_id", "transaction_type", "amount_minor_units", "currency", "value_date",
	"payee_id", "payee_name", "payee_area", "leaf_hash",
}

func exportCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "export [flags]", `
Exports the whole log up to its latest checkpoint, checking as it goes that
the entries are exactly those the checkpoint commits to (headers, chain,
payload digests, tree root).

  ndjson  a bundle: the signed checkpoint, then every entry's exact header
          and payload bytes with its statement decoded for reading; akashi
          verify checks it offline with the log's key alone
  csv     one row per entry for spreadsheets (UTF-8, with a header row);
          the checkpoint it reflects is written to <out>.checkpoint (or to
          standard error when writing to standard output)`, stderr)
	var cf clientFlags
	cf.register(fs)
	format := fs.String("format", "ndjson", "ndjson or csv")
	out := fs.String("o", "-", "the file to write; - for standard output")
	prog := progressFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("export takes no arguments, got %q", fs.Args())}
	}
	if *format != "ndjson" && *format != "csv" {
		return usageError{fmt.Sprintf("--format: got %q, want ndjson or csv", *format)}
	}
	bar, err := newProgressBar(*prog, "export", stderr)
	if err != nil {
		return err
	}
	c, err := cf.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	cp, err := c.LatestCheckpoint(ctx)
	if err != nil {
		return classify(err)
	}
	w := stdout
	var f *os.File
	if *out != "-" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	switch *format {
	case "ndjson":
		err = c.WriteBundle(ctx, cp, bw)
	case "csv":
		err = writeCSV(ctx, c, cp, bw, bar)
	}
	if err != nil {
		return classify(err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	bar.update(cp.Size, cp.Size, "", true)
	if *format == "csv" {
		if *out != "-" {
			if err := os.WriteFile(*out+".checkpoint", cp.Signed, 0o644); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(stderr, "the export reflects this checkpoint:\n%s", cp.Signed)
		}
	}
	if *out != "-" {
		if cf.json {
			return printJSON(stdout, map[string]any{"file": *out, "format": *format, "tree_size": cp.Size, "root_hash": cp.Root, "checkpoint": string(cp.Signed)})
		}
		fmt.Fprintf(stdout, "exported %d entries to %s (%s), checked against the checkpoint of size %d, root %s\n", cp.Size, *out, *format, cp.Size, cp.Root)
	}
	return nil
}

func writeCSV(ctx context.Context, c *client.Client, cp client.Checkpoint, w io.Writer, bar *progressBar) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return err
	}
	err := c.ExportEntries(ctx, cp, func(e *client.Entry) error {
		bar.update(e.Index+1, cp.Size, "", false)
		row := make([]string, len(csvColumns))
		set := func(col, v string) {
			for i, name := range csvColumns {
				if name == col {
					row[i] = v
				}
			}
		}
		set("index", strconv.FormatUint(e.Index, 10))
		set("integrated_at", e.Header.IntegrationTime().Format(time.RFC3339Nano))
		set("leaf_hash", e.LeafHash.String())
		if e.Statement == nil {
			set("kind", "withheld")
			return cw.Write(row)
		}
		set("key_id", e.Signed.GetKeyId())
		set("sequence", strconv.FormatUint(e.Statement.GetSequence(), 10))
		r := e.Statement.GetRecord()
		if r == nil {
			set("kind", "governance")
			return cw.Write(row)
		}
		set("publisher", r.GetPublisher().GetId())
		set("record_id", r.GetId())
		set("process_id", r.GetProcessId())
		set("tag", r.GetTag().String())
		set("amends", r.GetAmends())
		set("recorded_at", r.GetRecordedAt())
		switch {
		case r.GetDecision() != nil:
			set("kind", "decision")
			set("title", r.GetDecision().GetTitle())
		case r.GetRequest() != nil:
			set("kind", "request")
			set("title", r.GetRequest().GetTitle())
		case r.GetDisbursement() != nil:
			d := r.GetDisbursement()
			set("kind", "disbursement")
			set("title", d.GetProgramme().GetTitle())
			set("programme", d.GetProgramme().GetCode())
			set("award_id", d.GetAwardId())
			set("transaction_type", d.GetTransactionType().String())
			set("amount_minor_units", strconv.FormatInt(d.GetAmount().GetMinorUnits(), 10))
			set("currency", d.GetAmount().GetCurrency())
			set("value_date", d.GetValueDate())
			if o := d.GetPayee().GetOrganization(); o != nil {
				set("payee_id", o.GetId())
				set("payee_name", o.GetName())
			} else if p := d.GetPayee().GetIndividual(); p != nil {
				set("payee_id", p.GetId())
			}
			set("payee_area", d.GetPayeeArea())
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
