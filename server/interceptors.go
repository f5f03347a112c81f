// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// RequestIDHeader is the metadata key (and, through the gateway, the HTTP
// header) that carries a request's id. A client may set it; otherwise the
// server makes one. It appears in every log line about the request and is
// sent back in the response headers.
const RequestIDHeader = "x-request-id"

type ctxKey struct{}

// RequestID returns the id of the request ctx belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// withRequestID gives ctx a request id, from the incoming metadata or new.
func withRequestID(ctx context.Context) (context.Context, string) {
	id := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(RequestIDHeader); len(v) > 0 && len(v[0]) <= 64 {
			id = v[0]
		}
	}
	if id == "" {
		id = newRequestID()
	}
	return context.WithValue(ctx, ctxKey{}, id), id
}

// Metrics are the server's Prometheus metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the server's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "akashi_grpc_requests_total",
			Help: "gRPC requests handled, by method and status code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "akashi_grpc_request_duration_seconds",
			Help:    "Time to handle a gRPC request, by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// Interceptors return the unary and stream interceptors every gRPC call
// passes through, in order: request id, recovery from panics, logging and
// metrics. The REST gateway dials the gRPC server, so REST calls pass
// through them too.
func Interceptors(log *slog.Logger, m *Metrics) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	observe := func(ctx context.Context, method string, start time.Time, err error) {
		code := status.Code(err)
		if m != nil {
			m.requests.WithLabelValues(method, code.String()).Inc()
			m.latency.WithLabelValues(method).Observe(time.Since(start).Seconds())
		}
		level := slog.LevelDebug
		switch code {
		case codes.OK, codes.NotFound, codes.InvalidArgument, codes.OutOfRange, codes.AlreadyExists, codes.Canceled:
		case codes.Internal, codes.DataLoss, codes.Unknown:
			level = slog.LevelError
		default:
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "grpc", "method", method, "code", code.String(), "duration", time.Since(start), "request_id", RequestID(ctx))
	}
	recovered := func(ctx context.Context, method string, p any) error {
		log.ErrorContext(ctx, "panic in handler", "method", method, "panic", p, "request_id", RequestID(ctx), "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error; the server logged the details")
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		start := time.Now()
		ctx, id := withRequestID(ctx)
		grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, recovered(ctx, info.FullMethod, p)
			}
			observe(ctx, info.FullMethod, start, err)
		}()
		return handler(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		start := time.Now()
		ctx, id := withRequestID(ss.Context())
		ss.SetHeader(metadata.Pairs(RequestIDHeader, id))
		defer func() {
			if p := recover(); p != nil {
				err = recovered(ctx, info.FullMethod, p)
			}
			observe(ctx, info.FullMethod, start, err)
		}()
		return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	}
	return unary, stream
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
