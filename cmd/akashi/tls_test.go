// SPDX-License-Identifier: Apache-2.0

package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "akashi test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(priv)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	addrs, _ := runServe(t, serveConfig{DataDir: filepath.Join(dir, "data"), TLSCert: certFile, TLSKey: keyFile})
	tlsConf := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	conn, err := grpc.NewClient(addrs[0].String(), grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	info, err := akashiv1.NewLedgerServiceClient(conn).GetLogInfo(t.Context(), &akashiv1.GetLogInfoRequest{})
	if err != nil || info.GetOrigin() != testOrigin {
		t.Fatalf("GetLogInfo over TLS = %v, %v", info, err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}}
	resp, err := hc.Get("https://" + addrs[1].String() + "/v1/log")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET https /v1/log = %v, %v", resp, err)
	}
	resp.Body.Close()
	// Plaintext is refused on a TLS listener.
	if _, err := http.Get("http://" + addrs[1].String() + "/v1/log"); err == nil {
		r, _ := http.Get("http://" + addrs[1].String() + "/v1/log")
		if r != nil && r.StatusCode == 200 {
			t.Fatal("plaintext HTTP served on the TLS listener")
		}
	}
}

func TestRateLimitPerAgency(t *testing.T) {
	dir := t.TempDir()
	addrs, _ := runServe(t, serveConfig{DataDir: dir, RateLimit: 1, RateBurst: 3})
	s := &testServer{t: t, grpcAddr: addrs[0].String(), httpURL: "http://" + addrs[1].String()}
	conn, _ := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecureCreds()))
	defer conn.Close()
	s.client, s.registry = akashiv1.NewLedgerServiceClient(conn), akashiv1.NewRegistryServiceClient(conn)
	s.gov = readGov(t, dir)
	gov, _ := resume(t.Context(), s.registry, s.gov, testOrigin)
	tokyo, osaka := testKey(1), testKey(2)
	gov.governance(t.Context(), s.registry, registerKey(tokyoID, tokyo))
	gov.governance(t.Context(), s.registry, registerKey(osakaID, osaka))
	ts := &chainSigner{key: tokyo, origin: testOrigin}
	var limited error
	for i := range 10 {
		ss, _ := ts.sign(decision(tokyoID, "r"+string(rune('a'+i))))
		if _, err := s.client.AppendRecord(t.Context(), &akashiv1.AppendRecordRequest{Statement: ss}); err != nil {
			limited = err
			break
		}
	}
	if status.Code(limited) != codes.ResourceExhausted || !strings.Contains(status.Convert(limited).Message(), tokyoID) {
		t.Fatalf("Tokyo past its burst: %v, want ResourceExhausted naming it", limited)
	}
	// Osaka is not held back by Tokyo.
	os1 := &chainSigner{key: osaka, origin: testOrigin}
	ss, _ := os1.sign(decision(osakaID, "osaka-1"))
	if _, err := s.client.AppendRecord(t.Context(), &akashiv1.AppendRecordRequest{Statement: ss}); err != nil {
		t.Fatalf("Osaka while Tokyo is limited: %v", err)
	}
}
