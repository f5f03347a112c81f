// SPDX-License-Identifier: Apache-2.0

// Package testserver runs the real akashi server for the SDK's tests: it
// builds cmd/akashi once per test binary and starts `akashi serve` on
// ephemeral loopback ports with its data in a folder of the test's.
package testserver

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// Origin is the origin of the logs the tests create.
const Origin = "test.akashi.example/log"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of the akashi binary, building it the first time.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(build)
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func build() {
	dir, err := os.MkdirTemp("", "akashi-bin-")
	if err != nil {
		buildErr = err
		return
	}
	binPath = filepath.Join(dir, "akashi")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, "build", "-o", binPath, "github.com/akashi-ledger/akashi/cmd/akashi")
	out, err := cmd.CombinedOutput()
	if err != nil {
		buildErr = fmt.Errorf("go build cmd/akashi: %v\n%s", err, out)
	}
}

// Cleanup removes the built binary; call it at the end of TestMain.
func Cleanup() {
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

// Server is a running akashi server.
type Server struct {
	// Dir is the data folder.
	Dir string
	// GRPC is the gRPC address, HTTP the HTTP one (host:port).
	GRPC, HTTP string
	// VerifierKey is the log's verifier key.
	VerifierKey string
	// Governance is the governance key, read from the data folder.
	Governance ed25519.PrivateKey

	cmd  *exec.Cmd
	done chan error
	once sync.Once
	err  error
}

// Start runs `akashi serve` on dir with extra flags, waits until the log's
// governance key is established, and stops the server when the test ends.
func Start(t testing.TB, dir string, extra ...string) *Server {
	t.Helper()
	bin := Binary(t)
	s, err := start(bin, dir, extra...)
	if s != nil {
		t.Cleanup(func() { s.Stop() })
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// StartMain is Start for TestMain: the caller stops the server.
func StartMain(dir string, extra ...string) (*Server, error) {
	buildOnce.Do(build)
	if buildErr != nil {
		return nil, buildErr
	}
	s, err := start(binPath, dir, extra...)
	if err != nil && s != nil {
		s.Stop()
	}
	return s, err
}

func start(bin, dir string, extra ...string) (*Server, error) {
	args := append([]string{"serve", "--data", dir, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--origin", Origin}, extra...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
		io.Copy(io.Discard, stdout)
		s.done <- cmd.Wait()
	}()
	deadline := time.After(60 * time.Second)
	for s.GRPC == "" || s.HTTP == "" || s.VerifierKey == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				return s, fmt.Errorf("akashi serve exited before it was ready:\n%s", stderr.String())
			}
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "gRPC:"):
				s.GRPC = strings.TrimSpace(strings.TrimPrefix(l, "gRPC:"))
			case strings.HasPrefix(l, "REST:"):
				u := strings.TrimSpace(strings.TrimPrefix(l, "REST:"))
				u = strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
				s.HTTP, _, _ = strings.Cut(u, "/")
			case strings.HasPrefix(l, "verifier key:"):
				s.VerifierKey = strings.TrimSpace(strings.TrimPrefix(l, "verifier key:"))
			}
		case <-deadline:
			return s, fmt.Errorf("akashi serve did not start:\n%s", stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	// Ready once the log's first entry establishes the governance key.
	conn, err := grpc.NewClient(s.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return s, err
	}
	defer conn.Close()
	lc := akashiv1.NewLedgerServiceClient(conn)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		info, err := lc.GetLogInfo(ctx, &akashiv1.GetLogInfoRequest{})
		cancel()
		if err == nil && info.GetGovernanceKeyId() != "" {
			break
		}
		select {
		case <-deadline:
			return s, fmt.Errorf("akashi serve is not ready (%v):\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "governance.key"))
	if err != nil {
		return s, err
	}
	if s.Governance, err = record.ParsePrivateKey(b); err != nil {
		return s, err
	}
	return s, nil
}

// Stop stops the server as an operator would (SIGTERM) and waits for it.
func (s *Server) Stop() error {
	s.once.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case s.err = <-s.done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			s.err = <-s.done
		}
	})
	return s.err
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
