package secretbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"x":            "••••",
		"hunter2":      "••••",
		"elevenchars":  "••••",
		"twelve-chars": "••••hars",
		"https://hooks.slack.com/services/T0/B0/abcdWXYZ": "••••WXYZ",
		"pässwörd-ünïcødé":                                "••••cødé",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

const plain = "sup3r-s3cret-smtp-password"

// Everything that might print a Secret prints its mask.
func TestSecretNeverPrinted(t *testing.T) {
	s := Secret(plain)
	type channel struct {
		Name     string
		Password Secret
		Ptr      *Secret
	}
	c := channel{Name: "ops", Password: s, Ptr: &s}
	var outs []string
	for _, verb := range []string{"%v", "%s", "%q", "%#v", "%+v", "%x", "%X", "%d", "%10s", "%-30v", "%.3s", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, c), fmt.Sprintf(verb, []Secret{s}), fmt.Sprintf(verb, map[string]Secret{"k": s}))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(s, c), s.String(), s.GoString())

	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	if !strings.Contains(string(j), `"Password":"••••word"`) {
		t.Errorf("JSON %s", j)
	}
	jm, err := json.Marshal(map[string]Secret{"k": s})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(jm))

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("channel saved", "password", s, "channel", c, slog.Group("g", "secret", s), slog.Any("ptr", &s))
	log.With("secret", s).Warn("again")
	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("channel saved", "password", s, "channel", c)
	outs = append(outs, buf.String(), text.String())
	if !strings.Contains(buf.String(), `"password":"••••word"`) {
		t.Errorf("slog JSON: %s", buf.String())
	}

	for _, out := range outs {
		if strings.Contains(out, plain) || strings.Contains(out, fmt.Sprintf("%x", plain)) {
			t.Errorf("the secret leaked: %s", out)
		}
	}
	if got := fmt.Sprintf("%#v|%10s|%q", s, s, s); got != `secretbox.Secret("••••word")|  ••••word|"••••word"` {
		t.Errorf("verbs lost their meaning: %s", got)
	}
	if s.Reveal() != plain {
		t.Error("Reveal lost the value")
	}
}
