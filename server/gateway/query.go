// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/server"
)

// Public read limits.
const (
	// ReadRate and ReadBurst bound each client's reads of the REST API: a
	// token bucket per client address.
	ReadRate  = 20
	ReadBurst = 60
	// MaxExports bounds the exports streaming at once.
	MaxExports = 4
	// maxClients bounds the clients whose buckets are remembered.
	maxClients = 65536
)

// readLimiter limits each client's read requests and says so in the
// RateLimit and RateLimit-Policy headers (IETF draft
// httpapi-ratelimit-headers): the policy is ReadBurst requests, refilled
// at ReadRate a second.
type readLimiter struct {
	limit   rate.Limit
	burst   int
	mu      sync.Mutex
	clients map[string]*rate.Limiter
	exports chan struct{}
}

func newReadLimiter(limit rate.Limit, burst int) *readLimiter {
	if limit == 0 {
		limit, burst = ReadRate, ReadBurst
	}
	return &readLimiter{limit: limit, burst: burst, clients: map[string]*rate.Limiter{}, exports: make(chan struct{}, MaxExports)}
}

func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (l *readLimiter) limiter(client string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.clients[client]
	if lim == nil {
		if len(l.clients) >= maxClients {
			// Forget full buckets: their clients lose nothing.
			for c, x := range l.clients {
				if x.Tokens() >= float64(l.burst) {
					delete(l.clients, c)
				}
			}
			if len(l.clients) >= maxClients {
				clear(l.clients)
			}
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.clients[client] = lim
	}
	return lim
}

// wrap limits GET and HEAD requests.
func (l *readLimiter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		lim := l.limiter(clientOf(r))
		ok := lim.Allow()
		left := int(math.Max(0, math.Floor(lim.Tokens())))
		reset := int(math.Ceil(float64(l.burst-left) / float64(l.limit)))
		w.Header().Set("RateLimit-Policy", fmt.Sprintf(`"reads";q=%d;w=%d`, l.burst, max(1, int(float64(l.burst)/float64(l.limit)))))
		w.Header().Set("RateLimit", fmt.Sprintf(`"reads";r=%d;t=%d`, left, reset))
		if !ok {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, codes.ResourceExhausted, fmt.Sprintf("rate limited: at most %d reads in a burst and %g a second per client; retry after a second", l.burst, float64(l.limit)))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeError(w http.ResponseWriter, httpCode int, code codes.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	fmt.Fprintf(w, `{"code":%d,"message":%s}`+"\n", code, strconv.Quote(msg))
}

// exportHandler streams /v1/export from the gRPC Export stream as raw
// bytes, with the tree size in Akashi-Tree-Size and a file name.
func exportHandler(conn *grpc.ClientConn, l *readLimiter) http.Handler {
	client := akashiv1.NewQueryServiceClient(conn)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		req := &akashiv1.ExportRequest{}
		if err := runtime.PopulateQueryParameters(req, r.URL.Query(), utilities.NewDoubleArray(nil)); err != nil {
			writeError(w, http.StatusBadRequest, codes.InvalidArgument, err.Error())
			return
		}
		select {
		case l.exports <- struct{}{}:
			defer func() { <-l.exports }()
		default:
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusTooManyRequests, codes.ResourceExhausted, fmt.Sprintf("at most %d exports stream at once; retry shortly", MaxExports))
			return
		}
		ctx := r.Context()
		if id := r.Header.Get(server.RequestIDHeader); id != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, server.RequestIDHeader, id)
		}
		stream, err := client.Export(ctx, req)
		if err != nil {
			writeStatus(w, err)
			return
		}
		first, err := stream.Recv()
		if err != nil && !errors.Is(err, io.EOF) {
			writeStatus(w, err)
			return
		}
		if md, err := stream.Header(); err == nil {
			if v := md.Get(server.TreeSizeHeader); len(v) > 0 {
				w.Header().Set("Akashi-Tree-Size", v[0])
			}
		}
		format := req.GetFormat()
		if format == "" {
			format = "csv"
		}
		w.Header().Set("Content-Type", server.ExportContentType(format))
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="akashi-export-%s.%s"`, time.Now().UTC().Format("20060102T150405Z"), format))
		rc := http.NewResponseController(w)
		for msg := first; msg != nil; {
			if _, err := w.Write(msg.GetData()); err != nil {
				return
			}
			rc.Flush()
			if msg, err = stream.Recv(); err != nil {
				if !errors.Is(err, io.EOF) {
					// Too late for a status code: end the body with the error.
					fmt.Fprintf(w, "\nexport failed: %s\n", status.Convert(err).Message())
				}
				return
			}
		}
	})
}

func writeStatus(w http.ResponseWriter, err error) {
	st := status.Convert(err)
	writeError(w, runtime.HTTPStatusFromCode(st.Code()), st.Code(), st.Message())
}

//go:embed web
var webFiles embed.FS

// webHandler serves the journalists' page.
func webHandler() http.Handler {
	sub, _ := fs.Sub(webFiles, "web")
	return http.StripPrefix("/journalists/", http.FileServerFS(sub))
}
