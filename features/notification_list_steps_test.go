package features_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

func (n *notifySteps) registerList(sc *godog.ScenarioContext) {
	sc.Step(`^GET (/api/notifications\S*) lists:$`, func(ctx context.Context, path string, t *godog.Table) error {
		return n.notificationsList(ctx, path, "", t)
	})
	sc.Step(`^GET (/api/notifications\S*) as "([^"]*)" lists:$`, n.notificationsList)
	sc.Step(`^I retry the notification of "([^"]*)"$`, n.iRetryTheNotification)
}

// ---- notifications listed and retried ----

type messageJSON struct {
	ID            int64   `json:"id"`
	ChannelID     int64   `json:"channel_id"`
	RuleID        int64   `json:"rule_id"`
	Kind          string  `json:"kind"`
	Status        string  `json:"status"`
	Items         int     `json:"items"`
	Attempts      int     `json:"attempts"`
	NextAttemptAt *string `json:"next_attempt_at"`
	LastStatus    int     `json:"last_status"`
	LastError     string  `json:"last_error"`
}

func (n *notifySteps) listMessages(ctx context.Context, tenant, path string) ([]messageJSON, error) {
	var l struct {
		Notifications []messageJSON `json:"notifications"`
	}
	if err := n.a.getJSON(ctx, tenant, path, &l); err != nil {
		return nil, err
	}
	if l.Notifications == nil {
		return nil, fmt.Errorf("GET %s: no notifications list: %s", path, truncate(n.s.last.body))
	}
	return l.Notifications, nil
}

// notificationsList compares the listed notifications, newest first, with
// the table: its columns are fields of the answer, rule and channel by
// name, last_error a part of the text ("" none), next_attempt_at a time
// placeholder or "null".
func (n *notifySteps) notificationsList(ctx context.Context, path, tenant string, t *godog.Table) error {
	got, err := n.listMessages(ctx, tenant, path)
	if err != nil {
		return err
	}
	if len(t.Rows) < 1 {
		return errors.New("the table needs a header row")
	}
	if len(got) != len(t.Rows)-1 {
		return fmt.Errorf("GET %s lists %d notifications, want %d: %s", path, len(got), len(t.Rows)-1, truncate(n.s.last.body))
	}
	head := t.Rows[0].Cells
	for i, row := range t.Rows[1:] {
		m := got[i]
		for j, cell := range row.Cells {
			if err := n.messageField(m, head[j].Value, cell.Value); err != nil {
				return fmt.Errorf("GET %s, notification %d: %w: %+v", path, i+1, err, m)
			}
		}
	}
	return nil
}

func (n *notifySteps) messageField(m messageJSON, field, want string) error {
	num := func(got int) error {
		if strconv.Itoa(got) != want {
			return fmt.Errorf("%s is %d, want %s", field, got, want)
		}
		return nil
	}
	str := func(got string) error {
		if got != want {
			return fmt.Errorf("%s is %q, want %q", field, got, want)
		}
		return nil
	}
	switch field {
	case "rule":
		var id int64
		if want != "" {
			r, err := n.a.rule(want)
			if err != nil {
				return err
			}
			id = r.id
		}
		if m.RuleID != id {
			return fmt.Errorf("rule_id is %d, want %d (%q)", m.RuleID, id, want)
		}
	case "channel":
		if c := n.channels[want]; m.ChannelID != c.id || c.id == 0 {
			return fmt.Errorf("channel_id is %d, want %q's %d", m.ChannelID, want, c.id)
		}
	case "kind":
		return str(m.Kind)
	case "status":
		return str(m.Status)
	case "items":
		return num(m.Items)
	case "attempts":
		return num(m.Attempts)
	case "last_status":
		return num(m.LastStatus)
	case "last_error":
		if want == "" && m.LastError != "" || !strings.Contains(m.LastError, want) {
			return fmt.Errorf("last_error is %q, want %q", m.LastError, want)
		}
	case "next_attempt_at":
		var at time.Time
		if want != "null" {
			var err error
			if at, err = n.a.at(want); err != nil {
				return err
			}
		}
		return sameTime("next_attempt_at", m.NextAttemptAt, at)
	default:
		return fmt.Errorf("unknown column %q", field)
	}
	return nil
}

// iRetryTheNotification retries the rule's one dead notification (the
// answer is the scenario's last) and runs the dispatcher.
func (n *notifySteps) iRetryTheNotification(ctx context.Context, name string) error {
	r, err := n.a.rule(name)
	if err != nil {
		return err
	}
	dead, err := n.listMessages(ctx, r.tenant, fmt.Sprintf("/api/notifications?status=dead&rule_id=%d", r.id))
	if err != nil {
		return err
	}
	if len(dead) != 1 {
		return fmt.Errorf("rule %q has %d dead notifications, want 1", name, len(dead))
	}
	t, err := n.s.tenant(r.tenant)
	if err != nil {
		return err
	}
	if _, err := n.s.do(ctx, http.MethodPost, fmt.Sprintf("/api/notifications/%d/retry", dead[0].ID), t.token, nil); err != nil {
		return err
	}
	return n.dispatch(ctx)
}
