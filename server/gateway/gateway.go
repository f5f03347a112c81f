// SPDX-License-Identifier: Apache-2.0

// Package gateway is Akashi's HTTP face: the REST API (grpc-gateway over a
// client connection to the gRPC server, so every gRPC interceptor runs for
// REST calls too), the C2SP tlog-tiles read API at the root, the OpenAPI
// document, health and Prometheus metrics.
package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/server"
)

// Options configure the HTTP handler.
type Options struct {
	// Conn is a client connection to the gRPC server; the REST API calls
	// through it. The caller owns it.
	Conn *grpc.ClientConn
	// Log serves the tlog-tiles API.
	Log *ledger.Log
	// OpenAPI is the OpenAPI document served at /openapi.json.
	OpenAPI []byte
	// Gatherer and Registerer serve and receive the metrics; none when nil.
	Gatherer   prometheus.Gatherer
	Registerer prometheus.Registerer
	// Logger receives request logs; slog.Default when nil.
	Logger *slog.Logger
	// ReadLimit and ReadBurst bound each client's REST reads (a token
	// bucket per client address); ReadRate and ReadBurst when zero.
	ReadLimit rate.Limit
	ReadBurst int
}

// MaxBodyBytes bounds a REST request body.
const MaxBodyBytes = 1 << 20

// New returns the HTTP handler.
func New(ctx context.Context, o Options) (http.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
		runtime.WithIncomingHeaderMatcher(func(h string) (string, bool) {
			if strings.EqualFold(h, server.RequestIDHeader) {
				return server.RequestIDHeader, true
			}
			return runtime.DefaultHeaderMatcher(h)
		}),
		runtime.WithOutgoingHeaderMatcher(func(h string) (string, bool) {
			switch h {
			case server.RequestIDHeader:
				return "X-Request-Id", true
			case server.TreeSizeHeader:
				return "Akashi-Tree-Size", true
			}
			return "", false
		}),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
	)
	if err := akashiv1.RegisterLedgerServiceHandler(ctx, gw, o.Conn); err != nil {
		return nil, fmt.Errorf("registering the REST gateway: %w", err)
	}
	if err := akashiv1.RegisterRegistryServiceHandler(ctx, gw, o.Conn); err != nil {
		return nil, fmt.Errorf("registering the REST gateway: %w", err)
	}
	if err := akashiv1.RegisterQueryServiceHandler(ctx, gw, o.Conn); err != nil {
		return nil, fmt.Errorf("registering the REST gateway: %w", err)
	}
	m := newHTTPMetrics(o.Registerer)
	mux := http.NewServeMux()
	reads := newReadLimiter(o.ReadLimit, o.ReadBurst)
	mux.Handle("/v1/", reads.wrap(limitBody(gw)))
	mux.Handle("/v1/export", reads.wrap(exportHandler(o.Conn, reads)))
	mux.Handle("/journalists/", reads.wrap(webHandler()))
	tiles := &tilesHandler{log: o.Log}
	mux.Handle("/checkpoint", tiles)
	mux.Handle("/tile/", tiles)
	mux.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(o.OpenAPI)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "ok %d\n", o.Log.Size())
	})
	if o.Gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Akashi transparency ledger %s\n\nREST API: /v1/ (see /openapi.json)\nFor journalists: /journalists/\nC2SP tlog-tiles: /checkpoint, /tile/\nMetrics: /metrics\n", o.Log.Origin())
	})
	return m.wrap(o.Logger, mux), nil
}

// getOrHead answers other methods with 405 and reports whether to go on.
func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
		return false
	}
	return true
}

// limitBody bounds request bodies.
func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		h.ServeHTTP(w, r)
	})
}

// errorHandler is grpc-gateway's default error handler, plus a
// Retry-After header when the server sheds load.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if status.Code(err) == codes.ResourceExhausted {
		w.Header().Set("Retry-After", "1")
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// routingErrorHandler answers requests that match no REST route: 404 with
// the path, or 405 naming the allowed method.
func routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	var err error
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		err = status.Errorf(codes.Unimplemented, "method %s is not allowed on %s", r.Method, r.URL.Path)
		w.Header().Set("Allow", allowed(r.URL.Path))
		w.Header().Set("Content-Type", m.ContentType(nil))
		w.WriteHeader(http.StatusMethodNotAllowed)
		buf, _ := m.Marshal(status.Convert(err).Proto())
		w.Write(buf)
		return
	case http.StatusNotFound:
		err = status.Errorf(codes.NotFound, "no such route: %s %s (see /openapi.json)", r.Method, r.URL.Path)
	default:
		err = status.Errorf(codes.InvalidArgument, "%s", http.StatusText(httpStatus))
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

func allowed(path string) string {
	switch path {
	case "/v1/records":
		return "GET, POST"
	case "/v1/governance":
		return "POST"
	}
	return "GET"
}

// httpMetrics count HTTP requests by route family and status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "akashi_http_requests_total",
			Help: "HTTP requests handled, by route family and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "akashi_http_request_duration_seconds",
			Help:    "Time to handle an HTTP request, by route family.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency)
	}
	return m
}

func routeFamily(path string) string {
	switch {
	case strings.HasPrefix(path, "/v1/"):
		if i := strings.IndexByte(path[4:], '/'); i >= 0 {
			return path[:4+i]
		}
		return path
	case strings.HasPrefix(path, "/tile/entries/"):
		return "/tile/entries"
	case strings.HasPrefix(path, "/tile/"):
		return "/tile"
	case path == "/checkpoint", path == "/metrics", path == "/healthz", path == "/openapi.json", path == "/":
		return path
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap logs and counts every request; it gives requests without an id one,
// which the gateway passes on to the gRPC server.
func (m *httpMetrics) wrap(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(server.RequestIDHeader)
		if id == "" || len(id) > 64 {
			id = strconv.FormatInt(start.UnixNano(), 36)
			r.Header.Set(server.RequestIDHeader, id)
		}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		route := routeFamily(r.URL.Path)
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		level := slog.LevelDebug
		if sw.code >= 500 {
			level = slog.LevelError
		}
		log.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path, "status", sw.code, "duration", time.Since(start), "request_id", id)
	})
}
