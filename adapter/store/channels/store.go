// Package channels stores a tenant's notification channels
// (domain/notify) in the database of adapter/store/sqldb, table
// notification_channels. A channel's secret arrives and leaves sealed
// (adapter/notify/secretbox seals it, bound to its row): the store keeps
// the sealed string and never sees a key. Every method refuses a missing
// tenant (sqldb.RequireTenant) before any SQL and names the tenant in
// every WHERE clause: another tenant's channel id reads as
// notify.ErrNotFound. A Store is safe for concurrent use.
package channels

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/notify"
)

// Store is the SQL store of notification channels.
type Store struct{ db *sqldb.DB }

// New returns the store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }

// cols are the columns of a notify.Channel (scan).
const cols = "id, tenant_id, name, kind, settings_json, send_resolved, group_wait_ms, repeat_interval_ms, created_at, updated_at"

// idsPerQuery bounds the ids of one ChannelsByID query (SQLite's variables).
const idsPerQuery = 500

// emailJSON is an email channel's settings_json.
type emailJSON struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Security string   `json:"security"`
	Auth     string   `json:"auth,omitempty"`
	Username string   `json:"username"`
	To       []string `json:"to"`
	From     string   `json:"from"`
}

// slackJSON is a Slack channel's settings_json: the key of its URL (a
// hash; the URL is the secret).
type slackJSON struct {
	URLKey string `json:"url_key,omitempty"`
}

// webhookJSON is a webhook channel's settings_json.
type webhookJSON struct {
	URL string `json:"url"`
}

// settingsJSON encodes the settings of c's kind.
func settingsJSON(c notify.Channel) (string, error) {
	var v any = struct{}{}
	switch c.Kind {
	case notify.KindEmail:
		e := emailJSON{To: []string{}}
		if c.Email != nil {
			e = emailJSON{Host: c.Email.Host, Port: c.Email.Port, Security: c.Email.Security, Auth: c.Email.Auth, Username: c.Email.Username,
				To: c.Email.To, From: c.Email.From}
			if e.To == nil {
				e.To = []string{}
			}
		}
		v = e
	case notify.KindWebhook:
		var w webhookJSON
		if c.Webhook != nil {
			w.URL = c.Webhook.URL
		}
		v = w
	case notify.KindSlack:
		var sl slackJSON
		if c.Slack != nil {
			sl.URLKey = c.Slack.URLKey
		}
		v = sl
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("settings: %w", err)
	}
	return string(b), nil
}

// parseSettings sets the settings of c's kind from s.
func parseSettings(c *notify.Channel, s string) error {
	switch c.Kind {
	case notify.KindEmail:
		var e emailJSON
		if err := json.Unmarshal([]byte(s), &e); err != nil {
			return fmt.Errorf("channel %d: settings: %w", c.ID, err)
		}
		if e.To == nil {
			e.To = []string{}
		}
		c.Email = &notify.EmailSettings{Host: e.Host, Port: e.Port, Security: e.Security, Auth: e.Auth, Username: e.Username, To: e.To, From: e.From}
	case notify.KindWebhook:
		var w webhookJSON
		if err := json.Unmarshal([]byte(s), &w); err != nil {
			return fmt.Errorf("channel %d: settings: %w", c.ID, err)
		}
		c.Webhook = &notify.WebhookSettings{URL: w.URL}
	case notify.KindSlack:
		var sl slackJSON
		if err := json.Unmarshal([]byte(s), &sl); err != nil {
			return fmt.Errorf("channel %d: settings: %w", c.ID, err)
		}
		c.Slack = &notify.SlackSettings{URLKey: sl.URLKey}
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scan(r scanner, extra ...any) (notify.Channel, error) {
	var (
		c                 notify.Channel
		kind, settings    string
		groupMS, repeatMS int64
		sendResolved      bool
	)
	dest := append([]any{&c.ID, &c.TenantID, &c.Name, &kind, &settings, &sendResolved, &groupMS, &repeatMS, &c.CreatedAt, &c.UpdatedAt}, extra...)
	if err := r.Scan(dest...); err != nil {
		return notify.Channel{}, err
	}
	c.Kind, c.SendResolved = notify.Kind(kind), sendResolved
	c.GroupWait, c.RepeatInterval = time.Duration(groupMS)*time.Millisecond, time.Duration(repeatMS)*time.Millisecond
	if err := parseSettings(&c, settings); err != nil {
		return notify.Channel{}, err
	}
	return c, nil
}

// CreateChannel stores c (its ID and times are ignored) with its sealed
// secret ("" when it has none) and answers it with its id and times.
// A name the tenant already uses answers notify.ErrDuplicateName.
func (s *Store) CreateChannel(ctx context.Context, c notify.Channel, sealedSecret string, now int64) (notify.Channel, error) {
	if err := sqldb.RequireTenant("create notification channel", c.TenantID); err != nil {
		return notify.Channel{}, err
	}
	settings, err := settingsJSON(c)
	if err != nil {
		return notify.Channel{}, fmt.Errorf("create notification channel tenant=%d: %w", c.TenantID, err)
	}
	res, err := s.db.Write.ExecContext(ctx, "INSERT INTO notification_channels (tenant_id, name, kind, settings_json, secret_sealed, "+
		"send_resolved, group_wait_ms, repeat_interval_ms, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		c.TenantID, c.Name, string(c.Kind), settings, sealedSecret, c.SendResolved, c.GroupWait.Milliseconds(), c.RepeatInterval.Milliseconds(), now, now)
	if err != nil {
		return notify.Channel{}, fmt.Errorf("create notification channel tenant=%d: %w", c.TenantID, s.duplicate(err))
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return notify.Channel{}, fmt.Errorf("create notification channel tenant=%d: id: %w", c.TenantID, err)
	}
	c.CreatedAt, c.UpdatedAt = now, now
	return withSettings(c), nil
}

// withSettings is c as read back: only its kind's settings, To never nil.
func withSettings(c notify.Channel) notify.Channel {
	settings, err := settingsJSON(c)
	if err != nil { // a struct of strings and ints always marshals
		return c
	}
	c.Email, c.Webhook, c.Slack = nil, nil, nil
	_ = parseSettings(&c, settings)
	return c
}

// UpdateChannel replaces every field of channel c.ID (its CreatedAt
// stays); sealedSecret replaces the stored secret, or keeps it when "".
func (s *Store) UpdateChannel(ctx context.Context, c notify.Channel, sealedSecret string, now int64) error {
	if err := sqldb.RequireTenant("update notification channel", c.TenantID); err != nil {
		return err
	}
	settings, err := settingsJSON(c)
	if err != nil {
		return fmt.Errorf("update notification channel tenant=%d id=%d: %w", c.TenantID, c.ID, err)
	}
	set := "name = ?, kind = ?, settings_json = ?, send_resolved = ?, group_wait_ms = ?, repeat_interval_ms = ?, updated_at = ?"
	args := []any{c.Name, string(c.Kind), settings, c.SendResolved, c.GroupWait.Milliseconds(), c.RepeatInterval.Milliseconds(), now}
	if sealedSecret != "" {
		set += ", secret_sealed = ?"
		args = append(args, sealedSecret)
	}
	res, err := s.db.Write.ExecContext(ctx, "UPDATE notification_channels SET "+set+" WHERE id = ? AND tenant_id = ?", append(args, c.ID, c.TenantID)...)
	return s.requireAffected(ctx, res, s.duplicate(err), "update notification channel", c.TenantID, c.ID)
}

// DeleteChannel removes the tenant's channel. Rules that name it keep the
// id; ChannelsByID no longer answers it.
func (s *Store) DeleteChannel(ctx context.Context, tenantID, id int64) error {
	if err := sqldb.RequireTenant("delete notification channel", tenantID); err != nil {
		return err
	}
	res, err := s.db.Write.ExecContext(ctx, "DELETE FROM notification_channels WHERE id = ? AND tenant_id = ?", id, tenantID)
	if err != nil {
		return fmt.Errorf("delete notification channel tenant=%d id=%d: %w", tenantID, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete notification channel tenant=%d id=%d: %w", tenantID, id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete notification channel tenant=%d id=%d: %w", tenantID, id, notify.ErrNotFound)
	}
	return nil
}

// GetChannel reads the tenant's channel and its sealed secret ("" when it
// has none).
func (s *Store) GetChannel(ctx context.Context, tenantID, id int64) (notify.Channel, string, error) {
	if err := sqldb.RequireTenant("notification channel", tenantID); err != nil {
		return notify.Channel{}, "", err
	}
	var sealed string
	row := s.db.Read.QueryRowContext(ctx, "SELECT "+cols+", secret_sealed FROM notification_channels WHERE id = ? AND tenant_id = ?", id, tenantID)
	c, err := scan(row, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return notify.Channel{}, "", fmt.Errorf("notification channel tenant=%d id=%d: %w", tenantID, id, notify.ErrNotFound)
	}
	if err != nil {
		return notify.Channel{}, "", fmt.Errorf("notification channel tenant=%d id=%d: %w", tenantID, id, err)
	}
	return c, sealed, nil
}

// ListChannels reads every channel of the tenant by id, never nil. A
// tenant has few channels: there are no pages.
func (s *Store) ListChannels(ctx context.Context, tenantID int64) ([]notify.Channel, error) {
	if err := sqldb.RequireTenant("list notification channels", tenantID); err != nil {
		return nil, err
	}
	out := []notify.Channel{}
	err := s.query(ctx, "SELECT "+cols+" FROM notification_channels WHERE tenant_id = ? ORDER BY id", []any{tenantID}, func(c notify.Channel) {
		out = append(out, c)
	})
	if err != nil {
		return nil, fmt.Errorf("list notification channels tenant=%d: %w", tenantID, err)
	}
	return out, nil
}

// ChannelsByID reads the tenant's channels among ids (what a rule's
// channel ids name), never nil: an id of another tenant, or of no
// channel, is absent.
func (s *Store) ChannelsByID(ctx context.Context, tenantID int64, ids []int64) (map[int64]notify.Channel, error) {
	if err := sqldb.RequireTenant("notification channels by id", tenantID); err != nil {
		return nil, err
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	out := make(map[int64]notify.Channel, len(ids))
	for start := 0; start < len(ids); start += idsPerQuery {
		chunk := ids[start:min(start+idsPerQuery, len(ids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, tenantID)
		for _, id := range chunk {
			args = append(args, id)
		}
		in := "(?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		err := s.query(ctx, "SELECT "+cols+" FROM notification_channels WHERE tenant_id = ? AND id IN "+in, args, func(c notify.Channel) {
			out[c.ID] = c
		})
		if err != nil {
			return nil, fmt.Errorf("notification channels by id tenant=%d: %w", tenantID, err)
		}
	}
	return out, nil
}

func (s *Store) query(ctx context.Context, q string, args []any, each func(notify.Channel)) error {
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return err
		}
		each(c)
	}
	return rows.Err()
}

// duplicate turns a unique-key violation (the tenant's name) into
// notify.ErrDuplicateName.
func (s *Store) duplicate(err error) error {
	if err != nil && s.db.Dialect.IsDuplicate(err) {
		return notify.ErrDuplicateName
	}
	return err
}

// requireAffected turns an UPDATE that matched no row into
// notify.ErrNotFound. MariaDB counts changed rows only, so a row that
// exists but did not change is looked up before answering.
func (s *Store) requireAffected(ctx context.Context, res sql.Result, err error, what string, tenantID, id int64) error {
	if err != nil {
		return fmt.Errorf("%s tenant=%d id=%d: %w", what, tenantID, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s tenant=%d id=%d: %w", what, tenantID, id, err)
	}
	if n > 0 {
		return nil
	}
	var one int
	err = s.db.Write.QueryRowContext(ctx, "SELECT 1 FROM notification_channels WHERE id = ? AND tenant_id = ?", id, tenantID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s tenant=%d id=%d: %w", what, tenantID, id, notify.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s tenant=%d id=%d: %w", what, tenantID, id, err)
	}
	return nil
}
