// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/test/bufconn"

	"github.com/akashi-ledger/akashi"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/server"
	"github.com/akashi-ledger/akashi/server/gateway"
)

// Defaults of akashi serve.
const (
	defaultDataDir  = "./akashi-data"
	defaultGRPCAddr = "127.0.0.1:9090"
	defaultHTTPAddr = "127.0.0.1:8080"
	defaultOrigin   = "akashi.localhost/log"
	// maxMessageBytes bounds a gRPC message; a statement is at most 64 KiB.
	maxMessageBytes = 1 << 20
	// defaultBatchInterval is the ledger's BatchInterval. At 5,000 signed
	// appends/s over 32 streams it makes ~85 commits/s of ~57 entries
	// instead of ~230 of ~22, and p99 3.5× lower for ~7 ms more at the
	// median; 5 ms changed nothing measurable (docs/BENCHMARKS.md).
	defaultBatchInterval = 10 * time.Millisecond
	// serveMinQueue is the ledger's MinQueue. The server hands the log at
	// most 64 unary appends per core at once (streams, held by their
	// windows, are not subject to it: Log.SubmitWait), so it needs no
	// floor of 512 waiting appends: with
	// 512, admitted unary appends at three times capacity waited ~110 ms
	// in the queue at the ~4,500/s committed (docs/BENCHMARKS.md).
	serveMinQueue = 128
)

// serveConfig is what akashi serve runs with.
type serveConfig struct {
	DataDir  string
	GRPCAddr string
	HTTPAddr string
	Origin   string
	TLSCert  string
	TLSKey   string
	// GovernanceKey is the governance key's PEM file; created with the log
	// when it does not exist.
	GovernanceKey string
	Demo          bool
	// DemoDisbursements is the number of demo disbursements.
	DemoDisbursements int
	// RateLimit and RateBurst bound each agency's appends per second.
	RateLimit float64
	RateBurst int
	// ReadRateLimit and ReadRateBurst bound each client's REST reads.
	ReadRateLimit float64
	ReadRateBurst int
	LogLevel      slog.Level
	// MaxQueueDelay bounds how long admitted appends wait in the log's
	// queue (ledger.Options.MaxQueueDelay).
	MaxQueueDelay time.Duration
	// BatchInterval is ledger.Options.BatchInterval; zero (tests calling
	// serve directly) leaves it off.
	BatchInterval time.Duration
	// DebugAddr, when set, serves Go's profiler (net/http/pprof) there; a
	// loopback address only.
	DebugAddr string
	// MinFreeMiB is ledger.Options.MinFreeSpace in MiB; zero (tests calling
	// serve directly) is the ledger's default.
	MinFreeMiB int64

	// For tests: called once both listeners are bound, and a hook to tune
	// the ledger.
	ready         func(grpcAddr, httpAddr net.Addr)
	ledgerOptions func(*ledger.Options)
	// readHeaderTimeout, when set, replaces the HTTP server's (tests of slow clients).
	readHeaderTimeout time.Duration
}

// minFreeMiB is the least --min-free-mib: what a memtable flush and the
// compactions it starts may write beyond a batch.
const minFreeMiB = 64

func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c serveConfig
	fs.StringVar(&c.DataDir, "data", defaultDataDir, "data folder: the Badger store and the log's keys")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", defaultGRPCAddr, "gRPC listen address")
	fs.StringVar(&c.HTTPAddr, "http-addr", defaultHTTPAddr, "HTTP listen address (REST API, tlog-tiles, metrics)")
	fs.StringVar(&c.Origin, "origin", "", "the log's origin, its name in checkpoints; set when the log is created (default "+defaultOrigin+")")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate file (PEM) for both listeners; required unless both listen on loopback")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&c.GovernanceKey, "governance-key", "", "the governance key (PEM, PKCS #8 Ed25519) that establishes a new log's registry; created when missing (default <data>/governance.key)")
	fs.BoolVar(&c.Demo, "demo", false, "fill an empty log with a synthetic demo dataset (or complete one an earlier start left unfinished)")
	fs.IntVar(&c.DemoDisbursements, "demo-disbursements", 3000, "number of demo disbursements")
	fs.Float64Var(&c.RateLimit, "rate-limit", server.DefaultRateLimit, "statements per second each agency may append, sustained")
	fs.IntVar(&c.RateBurst, "rate-burst", server.DefaultRateBurst, "statements each agency may append in a burst")
	fs.Float64Var(&c.ReadRateLimit, "read-rate-limit", gateway.ReadRate, "REST reads per second each client address may make, sustained")
	fs.IntVar(&c.ReadRateBurst, "read-rate-burst", gateway.ReadBurst, "REST reads each client address may make in a burst")
	fs.DurationVar(&c.MaxQueueDelay, "max-queue-delay", ledger.DefaultMaxQueueDelay, "appends are refused at once (ResourceExhausted, 429) when those already waiting would take longer than this to commit")
	fs.DurationVar(&c.BatchInterval, "batch-interval", defaultBatchInterval, "while appends arrive from several clients, commit them together at most this often; 0 commits each batch as soon as the store is free")
	fs.Int64Var(&c.MinFreeMiB, "min-free-mib", ledger.DefaultMinFreeSpace>>20, fmt.Sprintf("free disk space (MiB) below which appends are refused (Unavailable) rather than written: Badger writes through memory maps, and a full disk would crash the server; at least %d", minFreeMiB))
	fs.StringVar(&c.DebugAddr, "debug-addr", "", "serve Go's profiler (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060; off when empty")
	verbose := fs.Bool("v", false, "log every request")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: akashi serve [flags]\n\nRuns the ledger: the gRPC API, the REST API and the C2SP tlog-tiles API.\nOn first start it creates the log and its signing key in the data folder.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	if c.MinFreeMiB < minFreeMiB {
		return usageError{fmt.Sprintf("--min-free-mib %d: want at least %d (room for Badger's table flushes and compactions)", c.MinFreeMiB, minFreeMiB)}
	}
	if c.BatchInterval < 0 || c.BatchInterval > time.Second {
		return usageError{fmt.Sprintf("--batch-interval %v: want 0 to 1s", c.BatchInterval)}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"max-queue-delay", c.MaxQueueDelay.Seconds()}, {"rate-limit", c.RateLimit}, {"rate-burst", float64(c.RateBurst)}, {"read-rate-limit", c.ReadRateLimit}, {"read-rate-burst", float64(c.ReadRateBurst)}} {
		if f.v <= 0 {
			return usageError{fmt.Sprintf("--%s %v: want a number above 0", f.name, f.v)}
		}
	}
	c.LogLevel = slog.LevelInfo
	if *verbose {
		c.LogLevel = slog.LevelDebug
	}
	return serve(ctx, c, stdout, stderr)
}

// serve runs the server until ctx ends, then drains in-flight requests and
// closes the store.
func serve(ctx context.Context, c serveConfig, stdout, stderr io.Writer) (err error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.LogLevel}))
	var tlsConf *tls.Config
	switch {
	case c.TLSCert != "" || c.TLSKey != "":
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return fmt.Errorf("loading --tls-cert and --tls-key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	default:
		for _, a := range []struct{ flag, addr string }{{"--grpc-addr", c.GRPCAddr}, {"--http-addr", c.HTTPAddr}} {
			if !isLoopback(a.addr) {
				return fmt.Errorf("%s %s is not a loopback address: give --tls-cert and --tls-key to serve it, plaintext is allowed on loopback only", a.flag, a.addr)
			}
		}
	}
	if c.DebugAddr != "" {
		if !isLoopback(c.DebugAddr) {
			return fmt.Errorf("--debug-addr %s is not a loopback address: the profiler is for the operator only", c.DebugAddr)
		}
		dsrv, err := debugServer(c.DebugAddr, logger)
		if err != nil {
			return err
		}
		defer dsrv.Close()
	}
	origin := c.Origin
	keyPath := filepath.Join(c.DataDir, "log.key")
	if _, err := os.Stat(keyPath); err != nil && origin == "" {
		origin = defaultOrigin
	}
	key, created, err := loadOrCreateLogKey(keyPath, origin)
	if err != nil {
		return err
	}
	govPath := c.GovernanceKey
	if govPath == "" {
		govPath = filepath.Join(c.DataDir, "governance.key")
	}
	gov, govCreated, err := loadOrCreateKeyFile(govPath)
	if err != nil {
		return fmt.Errorf("--governance-key: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	batchSize := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "akashi_ledger_batch_entries", Help: "Entries per committed batch.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 12),
	})
	commitTime := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "akashi_ledger_commit_seconds", Help: "Time to make a batch durable.",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
	})
	reg.MustRegister(batchSize, commitTime)

	lo := ledger.Options{
		Origin:   key.signer.Name(),
		Signer:   key.signer,
		Verifier: key.verifier,
		Hook:     server.Hook(key.signer.Name()),
		Logger:   logger,
		// Zero (tests calling serve directly) is the ledger's default.
		MaxQueueDelay: c.MaxQueueDelay,
		MinQueue:      serveMinQueue,
		BatchInterval: c.BatchInterval,
		MinFreeSpace:  c.MinFreeMiB << 20,
		OnCommit: func(entries, _ int, took time.Duration) {
			batchSize.Observe(float64(entries))
			commitTime.Observe(took.Seconds())
		},
	}
	if c.ledgerOptions != nil {
		c.ledgerOptions(&lo)
	}
	l, err := ledger.Open(ctx, filepath.Join(c.DataDir, "ledger"), lo)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "akashi_ledger_size", Help: "Entries in the log.",
	}, func() float64 { return float64(l.Size()) }))

	metrics := server.NewMetrics(reg)
	unary, stream := server.Interceptors(logger, metrics)
	gopts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary),
		grpc.ChainStreamInterceptor(stream),
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxConcurrentStreams(1000),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.ConnectionTimeout(10 * time.Second),
	}
	if tlsConf != nil {
		gopts = append(gopts, grpc.Creds(tlsExceptPipe{credentials.NewTLS(tlsConf)}))
	}
	srv := server.New(l, server.Options{VerifierKey: key.vkey, Logger: logger, RateLimit: rate.Limit(c.RateLimit), RateBurst: c.RateBurst})
	defer srv.Close() // once the gRPC server has stopped (g.Wait below)
	gs := grpc.NewServer(append(gopts, grpc.InTapHandle(srv.TapHandle))...)
	akashiv1.RegisterLedgerServiceServer(gs, srv)
	akashiv1.RegisterRegistryServiceServer(gs, srv.Registry())
	qs, err := server.NewQuery(ctx, l, logger)
	if err != nil {
		return err
	}
	defer qs.Close() // before the ledger's Close, deferred earlier
	akashiv1.RegisterQueryServiceServer(gs, qs)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)

	grpcLis, err := net.Listen("tcp", c.GRPCAddr)
	if err != nil {
		return fmt.Errorf("--grpc-addr: %w", err)
	}
	httpLis, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("--http-addr: %w", err)
	}
	// The gateway reaches the gRPC server through an in-process pipe, so
	// REST calls go through the same interceptors without needing a TLS
	// client configuration.
	pipe := bufconn.Listen(1 << 20)
	conn, err := grpc.NewClient("passthrough:///akashi",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return pipe.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	handler, err := gateway.New(ctx, gateway.Options{
		Conn: conn, Log: l, OpenAPI: akashi.OpenAPI, Gatherer: reg, Registerer: reg, Logger: logger,
		ReadLimit: rate.Limit(c.ReadRateLimit), ReadBurst: c.ReadRateBurst,
	})
	if err != nil {
		return err
	}
	readHeader := 5 * time.Second
	if c.readHeaderTimeout > 0 {
		readHeader = c.readHeaderTimeout
	}
	hsrv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeader,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConf,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}

	// The gateway's pipe first: a new log's first entry, which establishes
	// its governance key, is appended through it before anyone else can
	// reach the server.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ignoreClosed(gs.Serve(pipe)) })
	if err := ensureGenesis(ctx, akashiv1.NewRegistryServiceClient(conn), gov, key.signer.Name(), l.Size()); err != nil {
		gs.Stop()
		g.Wait()
		grpcLis.Close()
		httpLis.Close()
		return err
	}
	g.Go(func() error { return ignoreClosed(gs.Serve(grpcLis)) })
	g.Go(func() error {
		if tlsConf != nil {
			return ignoreClosed(hsrv.ServeTLS(httpLis, "", ""))
		}
		return ignoreClosed(hsrv.Serve(httpLis))
	})
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	if created {
		fmt.Fprintf(stdout, "Created a new log %q; its key is in %s (keep it secret).\n", key.signer.Name(), keyPath)
	}
	if govCreated {
		fmt.Fprintf(stdout, "Created the governance key %s in %s (keep it secret; it registers agencies).\n", record.KeyID(gov.Public().(ed25519.PublicKey)), govPath)
	}
	fmt.Fprintf(stdout, "Akashi log %q, %d entries, data in %s\n", key.signer.Name(), l.Size(), c.DataDir)
	fmt.Fprintf(stdout, "  gRPC:      %s\n", grpcLis.Addr())
	fmt.Fprintf(stdout, "  REST:      %s://%s/v1/log\n", scheme, httpLis.Addr())
	fmt.Fprintf(stdout, "  tlog-tiles %s://%s/checkpoint\n", scheme, httpLis.Addr())
	fmt.Fprintf(stdout, "  verifier key: %s\n", key.vkey)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	if c.ready != nil {
		c.ready(grpcLis.Addr(), httpLis.Addr())
	}
	if c.Demo {
		g.Go(func() error {
			if err := loadDemo(gctx, conn, gov, key.signer.Name(), c.DemoDisbursements, stdout); err != nil && gctx.Err() == nil {
				return fmt.Errorf("loading the demo dataset: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		logger.Info("shutting down: draining requests")
		hs.Shutdown()
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		herr := hsrv.Shutdown(sctx)
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-sctx.Done():
			gs.Stop()
		}
		return herr
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// debugServer serves the profiler on addr until it is closed.
func debugServer(addr string, logger *slog.Logger) (*http.Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("debug server", "err", err)
		}
	}()
	logger.Info("profiler", "addr", lis.Addr().String())
	return srv, nil
}

// tlsExceptPipe is TLS for every connection but those of the in-process
// pipe between the REST gateway and the gRPC server, which never leave the
// process.
type tlsExceptPipe struct {
	credentials.TransportCredentials
}

func (c tlsExceptPipe) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if conn.LocalAddr().Network() == "bufconn" {
		return insecure.NewCredentials().ServerHandshake(conn)
	}
	return c.TransportCredentials.ServerHandshake(conn)
}

func (c tlsExceptPipe) Clone() credentials.TransportCredentials {
	return tlsExceptPipe{c.TransportCredentials.Clone()}
}

func ignoreClosed(err error) error {
	if errors.Is(err, grpc.ErrServerStopped) || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// isLoopback reports whether a listen address is on the loopback interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
