package publish

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSOptions are the agent's TLS settings for an ssl:// broker.
type TLSOptions struct {
	CAFile   string // PEM CAs to trust instead of the system pool ("" = system pool)
	CertFile string // client certificate (PEM), with KeyFile
	KeyFile  string
	// ServerName is the name the broker's certificate must carry ("" = the
	// broker URL's host).
	ServerName string
	// InsecureSkipVerify accepts any broker certificate. Only for tests and
	// lab setups: the MQTT password is the whole token.
	InsecureSkipVerify bool
}

// Config builds the tls.Config: TLS 1.2 at least, the CA pool, the client
// certificate.
func (o TLSOptions) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName, InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // only when asked for by name
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case o.CertFile != "" || o.KeyFile != "":
		return nil, errors.New("a client certificate needs both the cert file and the key file")
	}
	return cfg, nil
}

// Set reports whether any TLS setting was given.
func (o TLSOptions) Set() bool {
	return o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" || o.ServerName != "" || o.InsecureSkipVerify
}
