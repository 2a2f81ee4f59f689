package broker_test

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
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/mqtt/broker"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key to
// dir and returns their paths and a pool trusting the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pulse test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSListener(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	e := start(t, broker.Options{
		Listen:    "127.0.0.1:0",
		TLSListen: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile,
	})
	if e.broker.TLSAddr() == "" || e.broker.TLSAddr() == e.broker.Addr() {
		t.Fatalf("TLSAddr %q, Addr %q", e.broker.TLSAddr(), e.broker.Addr())
	}
	user, pass := e.auth.issue(t, 1, "acme")

	c, err := dial(t, "ssl://"+e.broker.TLSAddr(), "tls-1", user, pass,
		withTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatalf("connect over TLS: %v", err)
	}
	publish(t, c, "metrics/acme/tls", 1, "secure")
	if m := e.inbox.next(t); m.topic != "metrics/acme/tls" || m.payload != "secure" {
		t.Fatalf("delivered %+v", m)
	}

	// A client that does not trust the certificate cannot connect.
	if _, err := dial(t, "ssl://"+e.broker.TLSAddr(), "tls-2", user, pass,
		withTLS(&tls.Config{MinVersion: tls.VersionTLS12})); err == nil {
		t.Fatal("untrusting client connected")
	}
}
