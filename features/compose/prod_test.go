//go:build compose

package compose

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestComposeProd brings the stack up with the production override and the
// example secrets: TLS in front (HTTPS, MQTT over TLS), plain MQTT on this host
// only, the env file's secrets in the containers, no dev tools, limits applied.
func TestComposeProd(t *testing.T) {
	s := newStack(t)
	s.project = fmt.Sprintf("pulse-prod-%d", os.Getpid())
	ports := freePorts(t, 4)
	example, err := os.ReadFile(filepath.Join(s.root, "deploy/compose/secrets/prod.env.example"))
	if err != nil {
		t.Fatal(err)
	}
	env := string(example)
	for key, port := range map[string]int{"NGINX_HTTP_PORT": ports[0], "NGINX_HTTPS_PORT": ports[1], "MQTT_PORT": ports[2], "MQTTS_PORT": ports[3]} {
		env = regexp.MustCompile(`(?m)^`+key+`=.*$`).ReplaceAllString(env, fmt.Sprintf("%s=%d", key, port))
		if !strings.Contains(env, fmt.Sprintf("%s=%d", key, port)) {
			env += fmt.Sprintf("%s=%d\n", key, port)
		}
	}
	envFile := filepath.Join(t.TempDir(), "prod.env")
	if err := os.WriteFile(envFile, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	// The shell's variables win over --env-file: drop the dev stack's ports.
	s.env = slices.DeleteFunc(s.env, func(kv string) bool {
		return strings.HasPrefix(kv, "NGINX_HTTP_PORT=") || strings.HasPrefix(kv, "MQTT_PORT=") ||
			strings.HasPrefix(kv, "MQTTS_PORT=") || strings.HasPrefix(kv, "COMPOSE_PROJECT_NAME=")
	})
	s.env = append(s.env, "COMPOSE_PROJECT_NAME="+s.project,
		"PULSE_COMPOSE_FILES=docker-compose.yml docker-compose.prod.yml", "PULSE_COMPOSE_ENV_FILE="+envFile)
	start := time.Now()
	s.script("up")
	t.Logf("prod stack up and healthy in %s", time.Since(start).Round(time.Second))
	t.Cleanup(s.down)

	pool := x509.NewCertPool()
	ca, err := os.ReadFile(filepath.Join(s.root, "deploy/compose/certs/ca.crt"))
	if err != nil || !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("the dev CA: %v", err)
	}
	tlsConf := &tls.Config{RootCAs: pool, ServerName: "localhost"}

	t.Run("port 80 redirects to HTTPS", func(t *testing.T) {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/dashboards", ports[0]))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(loc, "https://") {
			t.Fatalf("got %d Location %q, want 301 to https://", res.StatusCode, loc)
		}
	})
	t.Run("nginx terminates TLS in front of the api", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}, Timeout: 10 * time.Second}
		res, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/readyz", ports[1]))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Strict-Transport-Security") == "" {
			t.Fatalf("GET /readyz over TLS: %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
		}
	})
	t.Run("MQTT over TLS answers; plain MQTT is bound to this host", func(t *testing.T) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", ports[3]), tlsConf)
		if err != nil {
			t.Fatalf("TLS handshake with mosquitto: %v", err)
		}
		conn.Close()
		id := s.docker("ps", "-q", "--filter", "label=com.docker.compose.project="+s.project, "--filter", "label=com.docker.compose.service=mosquitto")
		if bound := s.docker("port", id, "1883"); !strings.HasPrefix(bound, "127.0.0.1:") {
			t.Fatalf("plain MQTT published on %q, want 127.0.0.1 only", bound)
		}
	})
	t.Run("secrets come from the env file; no dev tools; limits", func(t *testing.T) {
		ps := s.docker("ps", "-a", "--filter", "label=com.docker.compose.project="+s.project, "--format", `{{.Label "com.docker.compose.service"}}`)
		for _, dev := range []string{"mailpit", "playwright", "go-agent", "bootstrap"} {
			if regexp.MustCompile(`(?m)^` + dev + `$`).MatchString(ps) {
				t.Errorf("%s runs in production", dev)
			}
		}
		id := s.docker("ps", "-q", "--filter", "label=com.docker.compose.project="+s.project, "--filter", "label=com.docker.compose.service=app")
		key := regexp.MustCompile(`(?m)^PULSE_SECRET_KEY=(.*)$`).FindStringSubmatch(env)[1]
		if got := s.docker("inspect", "-f", `{{range .Config.Env}}{{println .}}{{end}}`, id); !strings.Contains(got, "PULSE_SECRET_KEY="+key+"\n") {
			t.Errorf("app's PULSE_SECRET_KEY is not the env file's")
		}
		if mem := s.docker("inspect", "-f", "{{.HostConfig.Memory}}", id); mem != fmt.Sprint(1<<30) {
			t.Errorf("app's memory limit: %s bytes, want 1 GiB", mem)
		}
	})
}
