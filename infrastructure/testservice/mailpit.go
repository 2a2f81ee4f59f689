package testservice

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/buildinfo"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The Mailpit the email tests talk to: pinned, built from source through
// the Go module proxy into a cache shared by all test runs, so a machine
// with Go needs no manual step.
const (
	MailpitModule  = "github.com/axllent/mailpit"
	MailpitVersion = "v1.33.1"
)

// MailpitTLS, given as an option to Mailpit, makes the SMTP listener offer
// STARTTLS with a freshly generated self-signed certificate for
// 127.0.0.1/localhost; MailpitInstance.TLSConfig trusts it. It is not a
// mailpit flag: every other option is passed to mailpit as is (e.g.
// "--smtp-auth-accept-any", "--enable-chaos").
const MailpitTLS = "+tls"

// MailpitInstance is a private Mailpit bound to 127.0.0.1 only.
type MailpitInstance struct {
	SMTPHost string // 127.0.0.1
	SMTPPort int
	APIURL   string // http://127.0.0.1:<port>, the web UI and /api/v1
	// RootCAs holds the self-signed SMTP certificate when started with
	// MailpitTLS (nil otherwise).
	RootCAs *x509.CertPool
	log     *SyncBuffer
}

// MailpitMessage is a summary of one captured message.
type MailpitMessage struct {
	ID      string
	Subject string
	To      []string
}

// MailpitMessageDetail is one captured message as /api/v1/message/{id} shows it.
type MailpitMessageDetail struct {
	ID, Subject, Text, HTML string
	From                    string
	To                      []string
}

// MailpitChaos are the SMTP failures Mailpit's chaos mode injects
// (start Mailpit with "--enable-chaos"). A zero ErrorCode is Mailpit's
// default (451 for Sender and Recipient, 535 for Authentication);
// Probability is a percentage, 0 to turn a trigger off.
type MailpitChaos struct {
	Sender, Recipient, Authentication MailpitChaosTrigger
}

// MailpitChaosTrigger is one chaos trigger.
type MailpitChaosTrigger struct {
	ErrorCode   int
	Probability int
}

var (
	mailpitOnce sync.Once
	mailpitPath string
	mailpitErr  error
)

// MailpitBinary finds mailpit v1.33.1 ($PULSE_MAILPIT_BIN, PATH,
// $HOME/go/bin, then the cache $HOME/.cache/pulse-test/bin) or installs it
// into the cache with `go install github.com/axllent/mailpit@v1.33.1`.
// A binary of another version is passed over (its build info says which).
func MailpitBinary() (string, error) {
	mailpitOnce.Do(func() { mailpitPath, mailpitErr = findOrInstallMailpit() })
	return mailpitPath, mailpitErr
}

func mailpitCacheDir() string {
	if d := os.Getenv("PULSE_TEST_BIN_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pulse-test", "bin")
	}
	return filepath.Join(os.TempDir(), "pulse-test-bin")
}

func findOrInstallMailpit() (string, error) {
	var candidates []string
	if p := os.Getenv("PULSE_MAILPIT_BIN"); p != "" {
		candidates = append(candidates, p)
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		candidates = append(candidates, p)
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, "go", "bin", "mailpit"))
	}
	cache := mailpitCacheDir()
	cached := filepath.Join(cache, "mailpit")
	candidates = append(candidates, cached)
	for _, p := range candidates {
		if isMailpitVersion(p) {
			return p, nil
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("mailpit: create cache %s: %w", cache, err)
	}
	cmd := exec.Command(goBin, "install", MailpitModule+"@"+MailpitVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+cache, "GOFLAGS=-mod=mod")
	cmd.Dir = os.TempDir() // outside this module: its go.mod must not matter
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("mailpit %s is not installed and `GOBIN=%s go install %s@%s` failed "+
			"(it needs the Go module proxy): %v\n%s", MailpitVersion, cache, MailpitModule, MailpitVersion, err, out)
	}
	if !isMailpitVersion(cached) {
		return "", fmt.Errorf("mailpit: %s is not %s %s after go install", cached, MailpitModule, MailpitVersion)
	}
	return cached, nil
}

// isMailpitVersion tells whether path is an executable built from the pinned module.
func isMailpitVersion(path string) bool {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return false
	}
	return info.Main.Path == MailpitModule && info.Main.Version == MailpitVersion
}

// Mailpit starts a private Mailpit (SMTP and HTTP on free ports of
// 127.0.0.1, an in-temp-dir database), waits until its API answers, and
// kills it by PID when the test ends, printing its log if the test
// failed. opts are mailpit flags, plus MailpitTLS. A Mailpit that cannot
// be installed or started fails the test.
func Mailpit(tb testing.TB, opts ...string) MailpitInstance {
	tb.Helper()
	bin, err := MailpitBinary()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	m := MailpitInstance{SMTPHost: "127.0.0.1", log: &SyncBuffer{}}
	var flags []string
	for _, o := range opts {
		if o != MailpitTLS {
			flags = append(flags, o)
			continue
		}
		cert, key, pool, err := selfSignedCert(dir)
		if err != nil {
			tb.Fatalf("mailpit: generate certificate: %v", err)
		}
		m.RootCAs = pool
		flags = append(flags, "--smtp-tls-cert", cert, "--smtp-tls-key", key)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken before mailpit binds it
		if lastErr = m.start(tb, bin, dir, attempt, flags); lastErr == nil {
			return m
		}
	}
	tb.Fatalf("mailpit did not start: %v\n%s", lastErr, m.log.String())
	return m
}

func (m *MailpitInstance) start(tb testing.TB, bin, dir string, attempt int, flags []string) error {
	smtpPort, err := freePort()
	if err != nil {
		return err
	}
	httpPort, err := freePort()
	if err != nil {
		return err
	}
	m.SMTPPort = smtpPort
	m.APIURL = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	args := append([]string{
		"--smtp", fmt.Sprintf("127.0.0.1:%d", smtpPort),
		"--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--database", filepath.Join(dir, fmt.Sprintf("mailpit-%d.db", attempt)),
		"--disable-version-check", "--smtp-disable-rdns",
	}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
	}
	if err := waitMailpit(m.APIURL+"/readyz", fmt.Sprintf("127.0.0.1:%d", smtpPort), exited); err != nil {
		stop()
		return err
	}
	log := m.log
	tb.Cleanup(func() {
		stop()
		if tb.Failed() {
			tb.Logf("mailpit log:\n%s", log.String())
		}
	})
	return nil
}

// waitMailpit waits (20 s at most) for the HTTP API and the SMTP port, or the exit.
func waitMailpit(readyURL, smtpAddr string, exited chan error) error {
	deadline := time.Now().Add(20 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("mailpit exited at start (%v)", err)
		default:
		}
		if resp, err := client.Get(readyURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if c, err := net.DialTimeout("tcp", smtpAddr, 200*time.Millisecond); err == nil {
					c.Close()
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mailpit not ready at %s / %s after 20s", readyURL, smtpAddr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TLSConfig trusts the instance's self-signed certificate (MailpitTLS).
func (m MailpitInstance) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: m.RootCAs, ServerName: m.SMTPHost, MinVersion: tls.VersionTLS12}
}

// Log is what Mailpit printed so far.
func (m MailpitInstance) Log() string { return m.log.String() }

// Messages lists the captured messages, newest first.
func (m MailpitInstance) Messages(tb testing.TB) []MailpitMessage {
	tb.Helper()
	var body struct {
		Messages []struct {
			ID      string
			Subject string
			To      []struct{ Address string }
		} `json:"messages"`
	}
	m.api(tb, http.MethodGet, "/api/v1/messages?limit=1000", nil, &body)
	out := make([]MailpitMessage, 0, len(body.Messages))
	for _, s := range body.Messages {
		msg := MailpitMessage{ID: s.ID, Subject: s.Subject}
		for _, a := range s.To {
			msg.To = append(msg.To, a.Address)
		}
		slices.Sort(msg.To)
		out = append(out, msg)
	}
	return out
}

// Message reads one captured message through /api/v1/message/{id}.
func (m MailpitInstance) Message(tb testing.TB, id string) MailpitMessageDetail {
	tb.Helper()
	var body struct {
		ID, Subject, Text, HTML string
		From                    *struct{ Address string }
		To                      []struct{ Address string }
	}
	m.api(tb, http.MethodGet, "/api/v1/message/"+url.PathEscape(id), nil, &body)
	d := MailpitMessageDetail{ID: body.ID, Subject: body.Subject, Text: body.Text, HTML: body.HTML}
	if body.From != nil {
		d.From = body.From.Address
	}
	for _, a := range body.To {
		d.To = append(d.To, a.Address)
	}
	slices.Sort(d.To)
	return d
}

// MessageText is the plain-text part of a captured message.
func (m MailpitInstance) MessageText(tb testing.TB, id string) string {
	tb.Helper()
	return m.Message(tb, id).Text
}

// SetChaos sets the chaos triggers (Mailpit must run with "--enable-chaos").
func (m MailpitInstance) SetChaos(tb testing.TB, c MailpitChaos) {
	tb.Helper()
	m.api(tb, http.MethodPut, "/api/v1/chaos", c, nil)
}

func (m MailpitInstance) api(tb testing.TB, method, path string, in, out any) {
	tb.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			tb.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, m.APIURL+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		tb.Fatalf("mailpit %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("mailpit %s %s: %s: %s", method, path, resp.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("mailpit %s %s: decode: %v\n%s", method, path, err, raw)
		}
	}
}

// selfSignedCert writes a P-256 certificate for 127.0.0.1 and localhost
// (valid one day) and its key to dir.
func selfSignedCert(dir string) (certFile, keyFile string, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return "", "", nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "pulse-test-mailpit"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certFile, keyFile = filepath.Join(dir, "smtp-cert.pem"), filepath.Join(dir, "smtp-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool, nil
}

// SMTPAddr is host:port of the SMTP listener.
func (m MailpitInstance) SMTPAddr() string {
	return net.JoinHostPort(m.SMTPHost, strconv.Itoa(m.SMTPPort))
}
