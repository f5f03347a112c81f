// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/akashi-ledger/akashi/client"
	"github.com/akashi-ledger/akashi/record"
)

// The exit codes of the client subcommands, beyond exitOK, exitError and
// exitUsage.
const (
	// exitVerify: something did not verify — a checkpoint, a proof, a
	// receipt, the log in an audit — or the monitor raised an alarm.
	exitVerify = 3
	// exitRejected: the log (or local validation) refused some of the
	// records given.
	exitRejected = 4
)

// exitCodes is the part of every client subcommand's help that explains
// the exit codes.
const exitCodes = `
Exit codes: 0 done; 1 failed (I/O, network, server error); 2 bad command line;
3 verification failed (a signature, proof, checkpoint or the log itself);
4 some records were rejected.
`

// codedError carries an exit code; run prints it and exits with the code.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

// classify gives errors of the SDK their exit codes.
func classify(err error) error {
	var ce codedError
	switch {
	case err == nil, errors.As(err, &ce):
		return err
	case errors.Is(err, client.ErrVerification), errors.Is(err, client.ErrInconsistent),
		errors.Is(err, client.ErrRollback), errors.Is(err, client.ErrSplitView), errors.Is(err, client.ErrRewound):
		return codedError{exitVerify, err}
	case isValidation(err):
		return codedError{exitRejected, err}
	}
	var re *client.RefusedError
	if errors.As(err, &re) {
		switch re.Code {
		case codes.InvalidArgument, codes.AlreadyExists, codes.PermissionDenied, codes.Unauthenticated, codes.FailedPrecondition:
			return codedError{exitRejected, err}
		}
	}
	return err
}

func isValidation(err error) bool {
	var fe *record.FieldError
	var fes record.Errors
	return errors.As(err, &fe) || errors.As(err, &fes)
}

// clientFlags are the flags of every subcommand that talks to a server.
type clientFlags struct {
	server     string
	tlsCA      string
	tls        bool
	serverName string
	logKey     string
	json       bool
	timeout    time.Duration
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	def := os.Getenv("AKASHI_SERVER")
	if def == "" {
		def = defaultGRPCAddr
	}
	fs.StringVar(&f.server, "server", def, "the log's gRPC address, host:port (env AKASHI_SERVER)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "connect with TLS, trusting the CA certificates in this PEM file")
	fs.BoolVar(&f.tls, "tls", false, "connect with TLS, trusting the system's CA certificates")
	fs.StringVar(&f.serverName, "tls-server-name", "", "the name to check the server's certificate against (default: the host of --server)")
	f.registerKey(fs)
	f.registerOutput(fs)
	fs.DurationVar(&f.timeout, "timeout", client.DefaultTimeout, "time limit of each request")
}

// registerKey adds --log-key alone (for offline subcommands).
func (f *clientFlags) registerKey(fs *flag.FlagSet) {
	fs.StringVar(&f.logKey, "log-key", os.Getenv("AKASHI_LOG_KEY"), "the log's verifier key (<origin>+<hash>+<key>), or a file holding it, to pin (env AKASHI_LOG_KEY); without it the key the server publishes is trusted, with a warning")
}

func (f *clientFlags) registerOutput(fs *flag.FlagSet) {
	fs.BoolVar(&f.json, "json", false, "print JSON for scripts instead of text")
}

// verifierKey returns the pinned key: the flag's value, or the content of
// the file it names.
func (f *clientFlags) verifierKey() (string, error) {
	k := strings.TrimSpace(f.logKey)
	if k == "" {
		return "", nil
	}
	if st, err := os.Stat(k); err == nil && st.Mode().IsRegular() {
		b, err := os.ReadFile(k)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	if strings.Count(k, "+") < 2 {
		return "", usageError{fmt.Sprintf("--log-key: %q is neither a verifier key (<origin>+<hash>+<key>) nor a file", k)}
	}
	return k, nil
}

// dial connects to the server, pinning --log-key.
func (f *clientFlags) dial(ctx context.Context, stderr io.Writer) (*client.Client, error) {
	key, err := f.verifierKey()
	if err != nil {
		return nil, err
	}
	opts := client.Options{VerifierKey: key, TrustServerKey: key == "", Timeout: f.timeout}
	if f.tls || f.tlsCA != "" {
		conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.serverName}
		if f.tlsCA != "" {
			pem, err := os.ReadFile(f.tlsCA)
			if err != nil {
				return nil, fmt.Errorf("--tls-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--tls-ca: %s holds no PEM certificate", f.tlsCA)
			}
			conf.RootCAs = pool
		}
		opts.TLS = conf
	}
	c, err := client.Dial(ctx, f.server, opts)
	if err != nil {
		return nil, classify(err)
	}
	if key == "" {
		fmt.Fprintf(stderr, "warning: no --log-key given: trusting the key %s publishes, %s\n", f.server, c.VerifierKey())
	}
	return c, nil
}

// newFlagSet returns a subcommand's flag set with its usage text.
func newFlagSet(name, usage, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: akashi %s\n\n%s\nFlags:\n", usage, strings.TrimSpace(about)+"\n")
		fs.PrintDefaults()
		fmt.Fprint(stderr, exitCodes)
	}
	return fs
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// protoJSON renders a message as a JSON value for embedding.
func protoJSON(m proto.Message) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

// protoText renders a message as indented JSON for people.
func protoText(m proto.Message) string {
	b, err := protojson.MarshalOptions{UseProtoNames: true, Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return fmt.Sprint(m)
	}
	return string(b)
}

// progressBar draws a progress bar on a terminal.
type progressBar struct {
	w     io.Writer
	on    bool
	start time.Time
	last  time.Time
	label string
}

// progressFlag registers --progress.
func progressFlag(fs *flag.FlagSet) *string {
	return fs.String("progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
}

func newProgressBar(mode, label string, stderr io.Writer) (*progressBar, error) {
	p := &progressBar{w: stderr, start: time.Now(), label: label}
	switch mode {
	case "always":
		p.on = true
	case "never":
	case "auto":
		if f, ok := stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				p.on = true
			}
		}
	default:
		return nil, usageError{fmt.Sprintf("--progress: got %q, want auto, always or never", mode)}
	}
	return p, nil
}

// update redraws the bar (at most every 100 ms unless final).
func (p *progressBar) update(done, total uint64, extra string, final bool) {
	if !p.on {
		return
	}
	now := time.Now()
	if !final && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	bar := strings.Repeat(" ", width)
	pct := ""
	if total > 0 {
		n := int(min(done, total) * width / total)
		bar = strings.Repeat("=", n) + strings.Repeat(" ", width-n)
		if n < width {
			bar = bar[:n] + ">" + bar[n+1:]
		}
		pct = fmt.Sprintf("%3d%% ", min(done, total)*100/total)
	}
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-3)
	fmt.Fprintf(p.w, "\r%s [%s] %s%d/%d, %.0f/s %s\x1b[K", p.label, bar, pct, done, total, rate, extra)
	if final {
		fmt.Fprintln(p.w)
	}
}
