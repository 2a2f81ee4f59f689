package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"

	mail "github.com/wneessen/go-mail"
)

// MaxAnswer caps the server's answer kept in a Result.
const MaxAnswer = 500

// Result is what became of one Send.
type Result struct {
	Delivered bool
	// Retryable: a temporary failure (a 4xx reply, a network error, a
	// timeout): sending again later may succeed. False when Delivered or
	// final (5xx, authentication refused, TLS required but not offered, a
	// bad certificate, an invalid configuration).
	Retryable bool
	Code      int    // the SMTP reply code when the server gave one
	Answer    string // the failure as the server or the network told it; capped, no password
}

// Sender sends rendered messages; the zero value is ready to use.
type Sender struct {
	// Dial replaces the network dialer (tests); nil is a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Send delivers m to every recipient of cfg in one SMTP transaction: all
// recipients get it or none do (a refused RCPT aborts the transaction),
// so a retry after a failure cannot deliver twice. The error is nil
// exactly when Result.Delivered.
func (s *Sender) Send(ctx context.Context, cfg Config, m Message) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{Answer: clip(err.Error(), MaxAnswer)}, err
	}
	client, err := mail.NewClient(cfg.Host, s.options(cfg)...)
	if err != nil {
		return s.fail(cfg, fmt.Errorf("email: client: %w", err), false)
	}
	msg := mail.NewMsg()
	if err := msg.From(cfg.From); err != nil {
		return s.fail(cfg, fmt.Errorf("email: from: %w", err), false)
	}
	if err := msg.To(cfg.To...); err != nil {
		return s.fail(cfg, fmt.Errorf("email: to: %w", err), false)
	}
	msg.Subject(clip(oneLine(m.Subject), MaxSubject))
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return s.classify(cfg, err, ctx)
	}
	return Result{Delivered: true}, nil
}

func (s *Sender) options(cfg Config) []mail.Option {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	opts := []mail.Option{mail.WithTimeout(cfg.timeout()), mail.WithTLSConfig(tc)}
	switch cfg.security() {
	case SecurityTLS:
		opts = append(opts, mail.WithSSL(), mail.WithTLSPolicy(mail.NoTLS))
	case SecurityPlain:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	opts = append(opts, mail.WithPort(cfg.port()))
	if cfg.Username != "" {
		auth := mail.SMTPAuthPlain
		if cfg.Auth == AuthLogin {
			auth = mail.SMTPAuthLogin
		}
		if cfg.security() == SecurityPlain { // an allowed local relay: no encryption to insist on
			auth = mail.SMTPAuthPlainNoEnc
			if cfg.Auth == AuthLogin {
				auth = mail.SMTPAuthLoginNoEnc
			}
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	if s.Dial != nil {
		opts = append(opts, mail.WithDialContextFunc(s.Dial))
	}
	if h, err := os.Hostname(); err != nil || h == "" {
		opts = append(opts, mail.WithHELO("localhost"))
	}
	return opts
}

// classify sorts a failed delivery into retryable or final.
func (s *Sender) classify(cfg Config, err error, ctx context.Context) (Result, error) {
	var sendErr *mail.SendError
	var tpErr *textproto.Error
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	code := 0
	switch {
	case errors.As(err, &sendErr) && sendErr.ErrorCode() != 0:
		code = sendErr.ErrorCode()
	case errors.As(err, &tpErr):
		code = tpErr.Code
	default:
		code = leadingCode(err)
	}
	switch {
	case code >= 400 && code < 500:
		return s.fail(cfg, err, true, code)
	case code >= 500 && code < 600:
		return s.fail(cfg, err, false, code)
	case sendErr != nil:
		return s.fail(cfg, err, sendErr.IsTemp())
	case strings.Contains(err.Error(), "does not support STARTTLS"),
		errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &recordErr),
		errors.Is(err, mail.ErrPlainAuthNotSupported), errors.Is(err, mail.ErrLoginAuthNotSupported),
		strings.Contains(err.Error(), "server does not support SMTP AUTH"):
		// Configuration problems: sending again will not fix them.
		return s.fail(cfg, err, false)
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil, errors.As(err, &netErr),
		errors.Is(err, net.ErrClosed), isConnReset(err):
		return s.fail(cfg, err, true)
	}
	return s.fail(cfg, err, false)
}

func isConnReset(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "EOF") || strings.Contains(msg, "connection refused")
}

// leadingCode finds an SMTP reply code at the start of the innermost error text.
func leadingCode(err error) int {
	for e := err; e != nil; e = errors.Unwrap(e) {
		msg := e.Error()
		if len(msg) >= 3 {
			if n, cerr := strconv.Atoi(msg[:3]); cerr == nil && n >= 200 && n < 600 && (len(msg) == 3 || msg[3] == ' ' || msg[3] == '-') {
				return n
			}
		}
	}
	return 0
}

func (s *Sender) fail(cfg Config, err error, retryable bool, code ...int) (Result, error) {
	r := Result{Retryable: retryable, Answer: clip(scrub(err.Error(), cfg), MaxAnswer)}
	if len(code) > 0 {
		r.Code = code[0]
	}
	return r, errors.New(r.Answer)
}

// scrub removes the password, in clear and in the base64 forms AUTH PLAIN
// and LOGIN send, from a text that may echo them.
func scrub(text string, cfg Config) string {
	text = oneLine(text)
	if cfg.Password == "" {
		return text
	}
	secrets := []string{
		cfg.Password,
		base64.StdEncoding.EncodeToString([]byte(cfg.Password)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + cfg.Username + "\x00" + cfg.Password)),
	}
	for _, sec := range secrets {
		text = strings.ReplaceAll(text, sec, "[redacted]")
	}
	return text
}
