package features_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/cucumber/godog"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
)

// ---- notifications.feature over the API: channels, notifying rules,
// silences, the notifications listed and retried ----

func (n *notifySteps) registerAPI(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]*)" has a second token, scoped "([^"]*)", known as "([^"]*)"$`, n.aSecondToken)
	sc.Step(`^I create the notification channel:$`, func(ctx context.Context, doc *godog.DocString) error {
		return n.createChannel(ctx, "", doc)
	})
	sc.Step(`^"([^"]*)" creates the notification channel:$`, n.createChannel)
	sc.Step(`^the answer is 201 with the channel's signing secret, shown once$`, n.theSecretIsShownOnce)
	sc.Step(`^no answer of GET /api/channels or GET /api/channels/\{id\} shows the secret of "([^"]*)"$`, n.noAnswerShowsTheSecret)
	sc.Step(`^"([^"]*)" lists no channel, and GET /api/channels/\{id\} of "([^"]*)" answers 404$`, n.listsNoChannel)
	sc.Step(`^I test the channel "([^"]*)"$`, n.iTestTheChannel)
	sc.Step(`^the test answer is delivered, with status (\d+)$`, n.theTestIsDelivered)
	sc.Step(`^I create the notifying alert rule:$`, func(ctx context.Context, doc *godog.DocString) error {
		return n.createRule(ctx, "", doc)
	})
	sc.Step(`^"([^"]*)" creates the notifying alert rule:$`, n.createRule)
	sc.Step(`^"([^"]*)" creates (\d+) notifying alert rules, "\{n\}" from 01:$`, n.createRules)
	sc.Step(`^I create the silence:$`, n.iCreateTheSilence)
	sc.Step(`^the silence is active until (\{\{[^}]*\}\})$`, n.theSilenceIsActiveUntil)
	n.registerList(sc)
}

// fillRE are the placeholders of this feature's documents.
var fillRE = regexp.MustCompile(`\{\{(receiver|channel|rule)(?: ([^}]*))?\}\}`)

// fill replaces {{receiver}} (the receiver's base URL), {{channel NAME}}
// and {{rule NAME}} (their ids), and the scenario's time placeholders.
func (n *notifySteps) fill(text string) (string, error) {
	var bad error
	out := fillRE.ReplaceAllStringFunc(text, func(m string) string {
		p := fillRE.FindStringSubmatch(m)
		switch p[1] {
		case "receiver":
			r, err := n.receiver(p[2])
			if err != nil {
				bad = err
				return m
			}
			return r.srv.URL
		case "channel":
			c, ok := n.channels[p[2]]
			if !ok {
				bad = fmt.Errorf("no channel %q in this scenario", p[2])
			}
			return strconv.FormatInt(c.id, 10)
		}
		r, err := n.a.rule(p[2])
		if err != nil {
			bad = err
		}
		return strconv.FormatInt(r.id, 10)
	})
	// The scenario's time placeholders, one by one: an alert template's
	// {{ .Value }} stays as it is.
	out = placeholder.ReplaceAllStringFunc(out, func(m string) string {
		v, err := n.s.expand(m)
		if err != nil {
			bad = err
		}
		return v
	})
	return out, bad
}

func (n *notifySteps) aSecondToken(ctx context.Context, tenant, scopes, as string) error {
	t, err := n.s.tenant(tenant)
	if err != nil {
		return err
	}
	sc, err := token.ParseScopes(scopes)
	if err != nil {
		return err
	}
	issued, err := n.s.srv.tenancy.CreateToken(ctx, audit.CLI(), t.slug, token.Spec{Name: "features " + as, Scopes: sc})
	if err != nil {
		return err
	}
	n.s.tenants[as] = &tenantRef{slug: t.slug, id: t.id, token: issued.Plain, tokenID: issued.Token.ID}
	return nil
}

// ---- channels ----

type channelJSON struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Webhook *struct {
		URL string `json:"url"`
	} `json:"webhook"`
	SecretSet  bool    `json:"secret_set"`
	SecretHint string  `json:"secret_hint"`
	Secret     *string `json:"secret"`
}

// createChannel posts a channel; a 201 remembers it by name with the
// secret its answer shows.
func (n *notifySteps) createChannel(ctx context.Context, tenant string, doc *godog.DocString) error {
	t, err := n.s.tenant(tenant)
	if err != nil {
		return err
	}
	body, err := n.fill(doc.Content)
	if err != nil {
		return err
	}
	ans, err := n.s.do(ctx, http.MethodPost, "/api/channels", t.token, []byte(body))
	if err != nil || ans.status != http.StatusCreated {
		return err
	}
	var c channelJSON
	if err := json.Unmarshal(ans.body, &c); err != nil || c.ID <= 0 || c.Name == "" {
		return fmt.Errorf("201 answer is not a channel (%v): %s", err, truncate(ans.body))
	}
	if want := "/api/channels/" + strconv.FormatInt(c.ID, 10); ans.header.Get("Location") != want {
		return fmt.Errorf("201 Location is %q, want %q", ans.header.Get("Location"), want)
	}
	ref := channelRef{id: c.ID, tenant: tenant}
	if c.Secret != nil {
		ref.secret = *c.Secret
	}
	n.channels[c.Name] = ref
	return nil
}

func (n *notifySteps) theSecretIsShownOnce(ctx context.Context) error {
	created := n.s.last
	if err := expectStatus(created, http.StatusCreated); err != nil {
		return err
	}
	var c channelJSON
	if err := json.Unmarshal(created.body, &c); err != nil {
		return err
	}
	if c.Secret == nil || !strings.HasPrefix(*c.Secret, "whsec_") || len(*c.Secret) < len("whsec_")+32 || !c.SecretSet {
		return fmt.Errorf("the 201 answer shows no whsec_ signing secret: %s", truncate(created.body))
	}
	ref, ok := n.channels[c.Name]
	if !ok {
		return fmt.Errorf("channel %q was not remembered", c.Name)
	}
	return n.secretNotShown(ctx, c.Name, ref)
}

func (n *notifySteps) noAnswerShowsTheSecret(ctx context.Context, name string) error {
	ref, ok := n.channels[name]
	if !ok || ref.secret == "" {
		return fmt.Errorf("no channel %q with a secret in this scenario", name)
	}
	return n.secretNotShown(ctx, name, ref)
}

// secretNotShown reads the channel and its tenant's list: neither shows
// the secret (the channel says only that one is set).
func (n *notifySteps) secretNotShown(ctx context.Context, name string, ref channelRef) error {
	for _, path := range []string{fmt.Sprintf("/api/channels/%d", ref.id), "/api/channels"} {
		var raw json.RawMessage
		if err := n.a.getJSON(ctx, ref.tenant, path, &raw); err != nil {
			return err
		}
		if bytes.Contains(raw, []byte(ref.secret)) || bytes.Contains(raw, []byte(strings.TrimPrefix(ref.secret, "whsec_"))) ||
			bytes.Contains(raw, []byte(`"secret":`)) {
			return fmt.Errorf("GET %s shows the secret of %q: %s", path, name, truncate(raw))
		}
		if !bytes.Contains(raw, []byte(`"secret_set":true`)) {
			return fmt.Errorf("GET %s does not say that %q has a secret: %s", path, name, truncate(raw))
		}
	}
	return nil
}

func (n *notifySteps) listsNoChannel(ctx context.Context, tenant, name string) error {
	var l struct {
		Channels []channelJSON `json:"channels"`
	}
	if err := n.a.getJSON(ctx, tenant, "/api/channels", &l); err != nil {
		return err
	}
	if l.Channels == nil || len(l.Channels) != 0 {
		return fmt.Errorf("%q lists channels, want an empty list: %s", tenant, truncate(n.s.last.body))
	}
	ref, ok := n.channels[name]
	if !ok {
		return fmt.Errorf("no channel %q in this scenario", name)
	}
	t, err := n.s.tenant(tenant)
	if err != nil {
		return err
	}
	ans, err := n.s.do(ctx, http.MethodGet, fmt.Sprintf("/api/channels/%d", ref.id), t.token, nil)
	if err != nil {
		return err
	}
	return expectStatus(ans, http.StatusNotFound)
}

func (n *notifySteps) iTestTheChannel(ctx context.Context, name string) error {
	ref, ok := n.channels[name]
	if !ok {
		return fmt.Errorf("no channel %q in this scenario", name)
	}
	t, err := n.s.tenant(ref.tenant)
	if err != nil {
		return err
	}
	n.test, err = n.s.do(ctx, http.MethodPost, fmt.Sprintf("/api/channels/%d/test", ref.id), t.token, nil)
	return err
}

func (n *notifySteps) theTestIsDelivered(status int) error {
	if err := expectStatus(n.test, http.StatusOK); err != nil {
		return err
	}
	var r struct {
		Delivered bool   `json:"delivered"`
		Status    int    `json:"status"`
		Error     string `json:"error"`
	}
	if err := json.Unmarshal(n.test.body, &r); err != nil || !r.Delivered || r.Status != status || r.Error != "" {
		return fmt.Errorf("the test answer is not delivered with status %d (%v): %s", status, err, truncate(n.test.body))
	}
	return nil
}

// ---- rules ----

func (n *notifySteps) createRule(ctx context.Context, tenant string, doc *godog.DocString) error {
	body, err := n.fill(doc.Content)
	if err != nil {
		return err
	}
	return n.a.create(ctx, tenant, []byte(body))
}

// createRules creates count rules from one document, "{n}" in it read as
// 01, 02…: each must be created.
func (n *notifySteps) createRules(ctx context.Context, tenant string, count int, doc *godog.DocString) error {
	for i := 1; i <= count; i++ {
		body, err := n.fill(strings.ReplaceAll(doc.Content, "{n}", fmt.Sprintf("%02d", i)))
		if err != nil {
			return err
		}
		if err := n.a.create(ctx, tenant, []byte(body)); err != nil {
			return err
		}
		if err := expectStatus(n.s.last, http.StatusCreated); err != nil {
			return fmt.Errorf("rule %d of %d: %w", i, count, err)
		}
	}
	return nil
}

// ---- silences ----

func (n *notifySteps) iCreateTheSilence(ctx context.Context, doc *godog.DocString) error {
	t, err := n.s.tenant("")
	if err != nil {
		return err
	}
	body, err := n.fill(doc.Content)
	if err != nil {
		return err
	}
	if _, err := n.s.do(ctx, http.MethodPost, "/api/silences", t.token, []byte(body)); err != nil {
		return err
	}
	return n.dispatch(ctx)
}

func (n *notifySteps) theSilenceIsActiveUntil(until string) error {
	want, err := n.a.at(until)
	if err != nil {
		return err
	}
	var s struct {
		ID     int64   `json:"id"`
		Active bool    `json:"active"`
		EndsAt *string `json:"ends_at"`
	}
	if err := expectStatus(n.s.last, http.StatusCreated); err != nil {
		return err
	}
	if err := json.Unmarshal(n.s.last.body, &s); err != nil || s.ID <= 0 || !s.Active {
		return fmt.Errorf("the silence is not active (%v): %s", err, truncate(n.s.last.body))
	}
	return sameTime("ends_at", s.EndsAt, want)
}
