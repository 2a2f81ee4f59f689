package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// Channels as a client sends them.
const (
	webhookChannel = `{"name":"Ops hook","kind":"webhook","webhook":{"url":"https://hooks.example.com/pulse"}}`
	smtpPassword   = "smtp-Pa55word-never-shown"
	emailChannel   = `{"name":"On call","kind":"email","email":{"host":"smtp.example.com","port":587,"security":"starttls","username":"pulse",` +
		`"to":["oncall@example.com"],"from":"pulse@example.com"},"secret":"` + smtpPassword + `","send_resolved":false,"group_wait":"0s","repeat_interval":"1h"}`
	slackURL     = "https://hooks.slack.com/services/T000/B000/sEcReTsLaCkPaTh"
	slackChannel = `{"name":"Slack","kind":"slack","slack":{},"secret":"` + slackURL + `"}`
)

func createChannel(t *testing.T, a *adminEnv, body string) (id string, created answer) {
	t.Helper()
	created = a.call(t, http.MethodPost, "/api/channels", a.acmeAdmin, body)
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	return mustJSON(t, created.json(t)["id"]), created
}

func TestAChannelIsAnsweredWithTheDocumentedShape(t *testing.T) {
	a, f, _ := notificationEnv(t)
	id, created := createChannel(t, a, webhookChannel)
	got := created.json(t)
	want := map[string]any{"name": "Ops hook", "kind": "webhook", "webhook": map[string]any{"url": "https://hooks.example.com/pulse"},
		"email": nil, "slack": nil, "send_resolved": true, "group_wait": "10s", "repeat_interval": "4h", "secret_set": true,
		"created_at": "2026-11-25T10:00:00.000Z", "updated_at": "2026-11-25T10:00:00.000Z"}
	for k, v := range want {
		if mustJSON(t, got[k]) != mustJSON(t, v) {
			t.Errorf("%s: %s, want %s", k, mustJSON(t, got[k]), mustJSON(t, v))
		}
	}
	if hint, _ := got["secret_hint"].(string); !strings.HasPrefix(hint, "••••") {
		t.Errorf("secret_hint %q", hint)
	}
	if loc := created.header.Get("Location"); loc != "/api/channels/"+id {
		t.Errorf("Location %q", loc)
	}
	// The omitted settings took notify.Defaults; explicit false and 0s stay.
	if in := f.lastInput().Channel; !in.SendResolved || in.GroupWait != notify.DefaultGroupWait || in.RepeatInterval != notify.DefaultRepeatInterval {
		t.Errorf("defaults: %+v", in)
	}
	mail := a.call(t, http.MethodPost, "/api/channels", a.acmeAdmin, emailChannel).json(t)
	if in := f.lastInput().Channel; in.SendResolved || in.GroupWait != 0 || in.RepeatInterval != time.Hour {
		t.Errorf("explicit settings: %+v", in)
	}
	wantMail := `{"auth":"plain","from":"pulse@example.com","host":"smtp.example.com","port":587,"security":"starttls","to":["oncall@example.com"],"username":"pulse"}`
	if mustJSON(t, mail["email"]) != wantMail || mail["webhook"] != nil || mail["group_wait"] != "0s" || mail["repeat_interval"] != "1h" || mail["send_resolved"] != false {
		t.Errorf("email channel: %v", mail)
	}
	if s := a.call(t, http.MethodPost, "/api/channels", a.acmeAdmin, slackChannel).json(t); mustJSON(t, s["slack"]) != `{}` || s["secret_set"] != true {
		t.Errorf("slack channel: %v", s)
	}
	list := a.call(t, http.MethodGet, "/api/channels", a.acmeIngest, "")
	var body struct{ Channels []map[string]any }
	if err := json.Unmarshal(list.body, &body); err != nil || list.status != http.StatusOK {
		t.Fatalf("list: %d %s", list.status, list.body)
	}
	var names []string
	for _, c := range body.Channels {
		names = append(names, c["name"].(string))
	}
	if !slices.Equal(names, []string{"On call", "Ops hook", "Slack"}) {
		t.Errorf("listed %v", names)
	}
}

func TestAWebhookSecretIsShownOnceAndNoSecretIsEchoed(t *testing.T) {
	a, f, reader := notificationEnv(t)
	id, created := createChannel(t, a, webhookChannel)
	secret, _ := created.json(t)["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the new webhook's secret is not shown: %s", created.body)
	}
	one := "/api/channels/" + id
	mailID, mail := createChannel(t, a, emailChannel)
	_, slack := createChannel(t, a, slackChannel)
	answers := map[string]answer{"email create": mail, "slack create": slack,
		"get":          a.call(t, http.MethodGet, one, reader, ""),
		"list":         a.call(t, http.MethodGet, "/api/channels", reader, ""),
		"get email":    a.call(t, http.MethodGet, "/api/channels/"+mailID, a.acmeAdmin, ""),
		"update keeps": a.call(t, http.MethodPut, one, a.acmeAdmin, webhookChannel),
		"update email": a.call(t, http.MethodPut, "/api/channels/"+mailID, a.acmeAdmin, emailChannel),
	}
	for name, ans := range answers {
		if ans.status >= 300 {
			t.Errorf("%s: %d %s", name, ans.status, ans.body)
		}
		for _, s := range []string{secret, smtpPassword, slackURL, "sEcReT"} {
			if strings.Contains(string(ans.body), s) {
				t.Errorf("%s shows a secret: %s", name, ans.body)
			}
		}
		if strings.Contains(string(ans.body), `"secret":`) {
			t.Errorf("%s has a secret field: %s", name, ans.body)
		}
	}
	if in := f.lastInput(); in.Secret == nil || *in.Secret != smtpPassword {
		t.Errorf("the SMTP password did not reach the use case: %+v", in.Secret)
	}
	noSecret := strings.Replace(emailChannel, `"secret":"`+smtpPassword+`",`, "", 1)
	if kept := a.call(t, http.MethodPut, "/api/channels/"+mailID, a.acmeAdmin, noSecret); kept.status != http.StatusOK || f.lastInput().Secret != nil ||
		kept.json(t)["secret_set"] != true {
		t.Errorf("an update without a secret keeps it: %d %s (input secret %v)", kept.status, kept.body, f.lastInput().Secret)
	}
	rotated := a.call(t, http.MethodPut, one, a.acmeAdmin, strings.TrimSuffix(webhookChannel, "}")+`,"rotate_secret":true}`).json(t)
	if s, _ := rotated["secret"].(string); !strings.HasPrefix(s, "whsec_") || s == secret {
		t.Errorf("a rotated secret is shown once: %v", rotated)
	}
	if logs := a.logs.String(); strings.Contains(logs, secret) || strings.Contains(logs, smtpPassword) || strings.Contains(logs, "sEcReT") {
		t.Errorf("a secret reached the log:\n%s", logs)
	}
}

func TestChannelRoutesScopesAndTenants(t *testing.T) {
	a, f, reader := notificationEnv(t)
	id, _ := createChannel(t, a, webhookChannel)
	one := "/api/channels/" + id
	f.test = notification.TestResult{Result: notification.Result{Status: 502, Answer: "bad gateway", Retryable: true}, Took: 1500 * time.Millisecond}
	for _, c := range []struct {
		name, method, target string
		tok                  token.Issued
		body                 string
		want                 int
	}{
		{"a read token lists", http.MethodGet, "/api/channels", reader, "", http.StatusOK},
		{"a read token reads one", http.MethodGet, one, reader, "", http.StatusOK},
		{"a read token may not create", http.MethodPost, "/api/channels", reader, webhookChannel, http.StatusForbidden},
		{"nor change", http.MethodPut, one, reader, webhookChannel, http.StatusForbidden},
		{"nor delete", http.MethodDelete, one, reader, "", http.StatusForbidden},
		{"nor test", http.MethodPost, one + "/test", reader, "", http.StatusForbidden},
		{"an ingest-and-read token may not delete", http.MethodDelete, one, a.acmeIngest, "", http.StatusForbidden},
		{"a platform token has no tenant", http.MethodGet, "/api/channels", a.platform, "", http.StatusForbidden},
		{"no token", http.MethodGet, "/api/channels", token.Issued{}, "", http.StatusUnauthorized},
		{"another tenant's channel is not found", http.MethodGet, one, a.otherAdmin, "", http.StatusNotFound},
		{"nor changed", http.MethodPut, one, a.otherAdmin, webhookChannel, http.StatusNotFound},
		{"nor tested", http.MethodPost, one + "/test", a.otherAdmin, "", http.StatusNotFound},
		{"nor deleted", http.MethodDelete, one, a.otherAdmin, "", http.StatusNotFound},
		{"an unknown channel", http.MethodGet, "/api/channels/999", a.acmeAdmin, "", http.StatusNotFound},
		{"a duplicate name", http.MethodPost, "/api/channels", a.acmeAdmin, webhookChannel, http.StatusConflict},
		{"the same name in another tenant", http.MethodPost, "/api/channels", a.otherAdmin, webhookChannel, http.StatusCreated},
		{"a failed test is an answer", http.MethodPost, one + "/test", a.acmeAdmin, "", http.StatusOK},
		{"the owner deletes", http.MethodDelete, one, a.acmeAdmin, "", http.StatusNoContent},
		{"once", http.MethodDelete, one, a.acmeAdmin, "", http.StatusNotFound},
	} {
		if ans := a.call(t, c.method, c.target, c.tok, c.body); ans.status != c.want {
			t.Errorf("%s: %s %s → %d %s, want %d", c.name, c.method, c.target, ans.status, ans.body, c.want)
		}
	}
	for _, m := range []string{"CreateChannel", "UpdateChannel", "DeleteChannel", "TestChannel"} {
		for _, act := range f.actors(m) {
			if !act.Admin {
				t.Errorf("%s reached the use case without admin: %+v", m, act)
			}
		}
	}
	gets := f.actors("GetChannel")
	wantGets := []notification.Actor{{TenantID: acmeID, Name: reader.Token.ID}, {TenantID: otherID, Admin: true, Name: a.otherAdmin.Token.ID},
		{TenantID: acmeID, Admin: true, Name: a.acmeAdmin.Token.ID}}
	if !slices.Equal(gets, wantGets) {
		t.Errorf("GetChannel actors %+v, want %+v", gets, wantGets)
	}
	if list := a.call(t, http.MethodGet, "/api/channels", a.otherAdmin, ""); strings.Count(string(list.body), `"id"`) != 1 {
		t.Errorf("another tenant lists: %s", list.body)
	}
}

func TestAChannelTestAnswersWhatTheReceiverDid(t *testing.T) {
	a, f, _ := notificationEnv(t)
	id, _ := createChannel(t, a, webhookChannel)
	f.test = notification.TestResult{Result: notification.Result{Status: 502, Answer: "bad gateway", Retryable: true}, Error: "", Took: 1500 * time.Millisecond}
	got := a.call(t, http.MethodPost, "/api/channels/"+id+"/test", a.acmeAdmin, "")
	want := `{"delivered":false,"status":502,"answer":"bad gateway","error":"","retryable":true,"took_ms":1500}` + "\n"
	if got.status != http.StatusOK || string(got.body) != want {
		t.Errorf("test: %d %s, want %s", got.status, got.body, want)
	}
}

func TestAnInvalidChannelListsEveryBadField(t *testing.T) {
	a, f, _ := notificationEnv(t)
	bad := `{"name":"","kind":"email","email":{"host":"smtp example","port":0,"to":["nobody"],"from":"pulse@example.com"},
		"webhook":{"url":"ftp://x"},"group_wait":"soon","repeat_interval":"10s"}`
	ans := a.call(t, http.MethodPost, "/api/channels", a.acmeAdmin, bad)
	if ans.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d %s", ans.status, ans.body)
	}
	var fields []string
	for _, e := range ans.fieldErrors(t) {
		fields = append(fields, e.Field)
	}
	want := []string{"email.host", "email.port", "email.to[0]", "group_wait", "name", "repeat_interval", "webhook", "webhook.url"}
	if !slices.Equal(fields, want) {
		t.Errorf("fields %v, want %v", fields, want)
	}
	if msg := ans.json(t)["error"]; msg != "invalid notification channel: 8 field(s)" {
		t.Errorf("error %q", msg)
	}
	if len(f.actors("CreateChannel")) != 0 {
		t.Error("a channel whose durations do not parse reached the use case")
	}
	// The use case's own validation is mapped the same way.
	slack := a.call(t, http.MethodPost, "/api/channels", a.acmeAdmin, `{"name":"s","kind":"slack","slack":{}}`)
	if slack.status != http.StatusUnprocessableEntity || len(slack.fieldErrors(t)) != 1 || slack.fieldErrors(t)[0].Field != "slack.url" {
		t.Errorf("slack without its URL: %d %s", slack.status, slack.body)
	}
}

func TestHostileChannelBodies(t *testing.T) {
	a, _, _ := notificationEnv(t)
	for _, c := range []struct {
		name, body string
		want       int
		says       string
	}{
		{"invalid UTF-8 in the name", "{\"name\":\"ops\xff\",\"kind\":\"webhook\",\"webhook\":{\"url\":\"https://h.example.com\"}}", http.StatusBadRequest, "UTF-8"},
		{"an id", `{"id":5,` + webhookChannel[1:], http.StatusUnprocessableEntity, `unknown field \"id\"`},
		{"secret_set", `{"secret_set":true,` + webhookChannel[1:], http.StatusUnprocessableEntity, "secret_set"},
		{"a Slack URL as a setting", `{"name":"s","kind":"slack","slack":{"url":"` + slackURL + `"}}`, http.StatusUnprocessableEntity, "url"},
		{"a huge body", `{"name":"` + strings.Repeat("a", 70<<10) + `","kind":"slack","slack":{}}`, http.StatusRequestEntityTooLarge, "exceeds"},
		{"two objects", webhookChannel + webhookChannel, http.StatusUnprocessableEntity, "one JSON object"},
		{"not JSON", `name=ops`, http.StatusUnprocessableEntity, "JSON object"},
		{"a port as a string", `{"name":"m","kind":"email","email":{"port":"587"}}`, http.StatusUnprocessableEntity, "Port"},
		{"an empty body", ``, http.StatusUnprocessableEntity, "JSON object"},
	} {
		ans := a.call(t, http.MethodPost, "/api/channels", a.acmeAdmin, c.body)
		if ans.status != c.want || !strings.Contains(string(ans.body), c.says) {
			t.Errorf("%s: %d %.300s, want %d saying %q", c.name, ans.status, ans.body, c.want, c.says)
		}
		if strings.Contains(string(ans.body), "sEcReT") {
			t.Errorf("%s: the refusal echoes the secret: %s", c.name, ans.body)
		}
	}
	for name, body := range hostileBodies() {
		for _, target := range []string{"/api/channels", "/api/silences", "/api/notification-settings"} {
			method := http.MethodPost
			if target == "/api/notification-settings" {
				method = http.MethodPut
			}
			if ans := a.call(t, method, target, a.acmeAdmin, string(body)); ans.status < 400 || ans.status >= 500 {
				t.Errorf("%s on %s: %d %.300s", name, target, ans.status, ans.body)
			}
		}
	}
}
