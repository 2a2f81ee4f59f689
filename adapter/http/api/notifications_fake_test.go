package api_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// The routes drive the real use case's method set.
var _ api.Notifications = (*notification.Service)(nil)

// fakeNotifications is the notification use case in memory, with the
// real domain validation and the use case's rules that matter to the
// answers (tenant scoping, admin-only changes, the webhook secret shown
// once, the defaults of a silence). It records every call's actor.
type fakeNotifications struct {
	mu       sync.Mutex
	now      int64
	nextID   int64
	channels map[int64]fakeChannel
	silences []notify.Silence
	messages []notification.MessageRow
	items    map[int64][]notification.Notification
	budget   map[int64]int
	made     int // webhook secrets made
	calls    []fakeCall
	inputs   []notification.ChannelInput
	filters  []notification.MessageFilter
	active   []bool
	test     notification.TestResult
}

type fakeChannel struct {
	c      notify.Channel
	secret string
}

type fakeCall struct {
	method string
	actor  notification.Actor
}

// Tenants of newAdminEnv: acme is 1, other 2.
const acmeID, otherID = 1, 2

func newFakeNotifications() *fakeNotifications {
	f := &fakeNotifications{now: testNow.UnixMilli(), nextID: 100, channels: map[int64]fakeChannel{},
		items: map[int64][]notification.Notification{}, budget: map[int64]int{}}
	v := 97.5
	f.messages = []notification.MessageRow{
		{ID: 3, TenantID: otherID, ChannelID: 9, RuleID: 9, Kind: notification.MessageAlerts, Status: notification.StatusDead, Items: 1, CreatedAt: f.now - 1000},
		{ID: 2, TenantID: acmeID, ChannelID: 5, RuleID: 7, Kind: notification.MessageAlerts, Status: notification.StatusDead, Items: 1, Attempts: 9,
			LastStatus: 500, LastError: "receiver answered 500", CreatedAt: f.now - 2000},
		{ID: 1, TenantID: acmeID, ChannelID: 5, RuleID: 7, Kind: notification.MessageAlerts, Status: notification.StatusSent, Items: 1, Attempts: 1,
			LastStatus: 200, CreatedAt: f.now - 3000, SentAt: f.now - 2900},
	}
	f.items[1] = []notification.Notification{{RuleID: 7, TenantID: acmeID, Rule: "High load", Kind: alert.NotifyFiring, State: alert.Firing,
		Instance: "host=a", Labels: map[string]string{"host": "a"}, Value: &v, Threshold: 90, At: "2026-11-25T09:59:57Z"}}
	f.items[2] = f.items[1]
	f.items[3] = []notification.Notification{{RuleID: 9, TenantID: otherID, Rule: "other's rule"}}
	return f
}

func (f *fakeNotifications) record(method string, a notification.Actor) {
	f.calls = append(f.calls, fakeCall{method, a})
}

// actors are the actors of the calls of method, in order.
func (f *fakeNotifications) actors(method string) []notification.Actor {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []notification.Actor
	for _, c := range f.calls {
		if c.method == method {
			out = append(out, c.actor)
		}
	}
	return out
}

func (f *fakeNotifications) lastInput() notification.ChannelInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inputs[len(f.inputs)-1]
}

func mustAdmin(a notification.Actor) error {
	if !a.Admin {
		return fmt.Errorf("change notifications: %w", token.ErrForbidden)
	}
	return nil
}

func fakeMask(secret string) string {
	if len(secret) < 12 {
		return "••••"
	}
	return "••••" + secret[len(secret)-4:]
}

func (f *fakeNotifications) view(fc fakeChannel) notification.ChannelView {
	v := notification.ChannelView{Channel: fc.c, SecretSet: fc.secret != ""}
	if v.SecretSet {
		v.SecretHint = fakeMask(fc.secret)
	}
	return v
}

func (f *fakeNotifications) find(tenantID, id int64) (fakeChannel, error) {
	fc, ok := f.channels[id]
	if !ok || fc.c.TenantID != tenantID {
		return fakeChannel{}, fmt.Errorf("channel %d: %w", id, notify.ErrNotFound)
	}
	return fc, nil
}

func (f *fakeNotifications) ListChannels(_ context.Context, a notification.Actor) ([]notification.ChannelView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ListChannels", a)
	var out []notification.ChannelView
	for _, fc := range f.channels {
		if fc.c.TenantID == a.TenantID {
			out = append(out, f.view(fc))
		}
	}
	slices.SortFunc(out, func(x, y notification.ChannelView) int { return cmp.Compare(x.Name, y.Name) })
	return out, nil
}

func (f *fakeNotifications) GetChannel(_ context.Context, a notification.Actor, id int64) (notification.ChannelView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("GetChannel", a)
	fc, err := f.find(a.TenantID, id)
	return f.view(fc), err
}

// save validates and stores c with the secret the input leads to.
func (f *fakeNotifications) save(a notification.Actor, c notify.Channel, in notification.ChannelInput, keep string) (notification.ChannelView, string, error) {
	if err := c.Validate(); err != nil {
		return notification.ChannelView{}, "", err
	}
	for _, other := range f.channels {
		if other.c.TenantID == a.TenantID && other.c.ID != c.ID && other.c.Name == c.Name {
			return notification.ChannelView{}, "", fmt.Errorf("save channel %q: %w", c.Name, notify.ErrDuplicateName)
		}
	}
	secret, shown := keep, ""
	switch {
	case c.Kind == notify.KindWebhook && (keep == "" || in.RotateSecret):
		f.made++
		secret = fmt.Sprintf("whsec_FakeSigningSecret%04dXyZ", f.made)
		shown = secret
	case c.Kind != notify.KindWebhook && in.Secret != nil:
		secret = *in.Secret
	}
	if c.Kind == notify.KindSlack && secret == "" {
		return notification.ChannelView{}, "", &notify.InvalidChannelError{Fields: notify.FieldErrors{"slack.url": "is required"}}
	}
	f.channels[c.ID] = fakeChannel{c, secret}
	return f.view(f.channels[c.ID]), shown, nil
}

func (f *fakeNotifications) CreateChannel(_ context.Context, a notification.Actor, in notification.ChannelInput) (notification.ChannelView, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("CreateChannel", a)
	f.inputs = append(f.inputs, in)
	if err := mustAdmin(a); err != nil {
		return notification.ChannelView{}, "", err
	}
	c := in.Channel.Normalize()
	f.nextID++
	c.ID, c.TenantID, c.CreatedAt, c.UpdatedAt = f.nextID, a.TenantID, f.now, f.now
	return f.save(a, c, in, "")
}

func (f *fakeNotifications) UpdateChannel(_ context.Context, a notification.Actor, id int64, in notification.ChannelInput) (notification.ChannelView, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("UpdateChannel", a)
	f.inputs = append(f.inputs, in)
	if err := mustAdmin(a); err != nil {
		return notification.ChannelView{}, "", err
	}
	old, err := f.find(a.TenantID, id)
	if err != nil {
		return notification.ChannelView{}, "", err
	}
	c := in.Channel.Normalize()
	c.ID, c.TenantID, c.CreatedAt, c.UpdatedAt = id, a.TenantID, old.c.CreatedAt, f.now+1000
	keep := ""
	if c.Kind == old.c.Kind {
		keep = old.secret
	}
	return f.save(a, c, in, keep)
}

func (f *fakeNotifications) DeleteChannel(_ context.Context, a notification.Actor, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("DeleteChannel", a)
	if err := mustAdmin(a); err != nil {
		return err
	}
	if _, err := f.find(a.TenantID, id); err != nil {
		return err
	}
	delete(f.channels, id)
	return nil
}

func (f *fakeNotifications) TestChannel(_ context.Context, a notification.Actor, id int64) (notification.TestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("TestChannel", a)
	if err := mustAdmin(a); err != nil {
		return notification.TestResult{}, err
	}
	if _, err := f.find(a.TenantID, id); err != nil {
		return notification.TestResult{}, err
	}
	return f.test, nil
}

func (f *fakeNotifications) CreateSilence(_ context.Context, a notification.Actor, in notify.Silence) (notify.Silence, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("CreateSilence", a)
	if err := mustAdmin(a); err != nil {
		return notify.Silence{}, err
	}
	in.TenantID, in.CreatedAt, in.CreatedBy = a.TenantID, f.now, a.Name
	if in.StartsAt == 0 {
		in.StartsAt = f.now
	}
	if in.EndsAt == 0 {
		in.EndsAt = in.StartsAt + notification.DefaultSilence.Milliseconds()
	}
	if err := in.Validate(); err != nil {
		return notify.Silence{}, err
	}
	f.nextID++
	in.ID = f.nextID
	f.silences = append(f.silences, in)
	return in, nil
}

func (f *fakeNotifications) ListSilences(_ context.Context, a notification.Actor, activeOnly bool) ([]notify.Silence, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ListSilences", a)
	f.active = append(f.active, activeOnly)
	var out []notify.Silence
	for _, s := range slices.Backward(f.silences) {
		if s.TenantID == a.TenantID && (!activeOnly || s.EndsAt > f.now) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeNotifications) EndSilence(_ context.Context, a notification.Actor, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EndSilence", a)
	if err := mustAdmin(a); err != nil {
		return err
	}
	for i, s := range f.silences {
		if s.ID == id && s.TenantID == a.TenantID {
			f.silences[i].EndsAt = min(s.EndsAt, f.now)
			return nil
		}
	}
	return fmt.Errorf("silence %d: %w", id, notify.ErrSilenceNotFound)
}

func (f *fakeNotifications) NowMS() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeNotifications) ListMessages(_ context.Context, a notification.Actor, fl notification.MessageFilter) ([]notification.MessageRow, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ListMessages", a)
	f.filters = append(f.filters, fl)
	switch fl.Status {
	case "", notification.StatusQueued, notification.StatusSent, notification.StatusDead:
	default:
		return nil, 0, fmt.Errorf("%w: status must be one of queued, sent, dead", notification.ErrInvalid)
	}
	if fl.Limit <= 0 {
		fl.Limit = 100
	}
	var out []notification.MessageRow
	for _, m := range f.messages {
		if m.TenantID == a.TenantID && (fl.Status == "" || m.Status == fl.Status) && (fl.ChannelID == 0 || m.ChannelID == fl.ChannelID) &&
			(fl.RuleID == 0 || m.RuleID == fl.RuleID) && (fl.Cursor == 0 || m.ID < fl.Cursor) && len(out) < fl.Limit {
			out = append(out, m)
		}
	}
	var next int64
	if len(out) == fl.Limit {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

func (f *fakeNotifications) message(tenantID, id int64) (notification.MessageRow, error) {
	for _, m := range f.messages {
		if m.ID == id && m.TenantID == tenantID {
			return m, nil
		}
	}
	return notification.MessageRow{}, fmt.Errorf("message %d: %w", id, notify.ErrMessageNotFound)
}

func (f *fakeNotifications) MessageNotifications(_ context.Context, a notification.Actor, id int64) ([]notification.Notification, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("MessageNotifications", a)
	if _, err := f.message(a.TenantID, id); err != nil {
		return nil, err
	}
	return f.items[id], nil
}

func (f *fakeNotifications) Retry(_ context.Context, a notification.Actor, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Retry", a)
	if err := mustAdmin(a); err != nil {
		return err
	}
	m, err := f.message(a.TenantID, id)
	if err == nil && m.Status != notification.StatusDead {
		err = fmt.Errorf("message %d is %s: %w", id, m.Status, notify.ErrMessageNotFound)
	}
	return err
}

func (f *fakeNotifications) PerMinute(_ context.Context, a notification.Actor) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("PerMinute", a)
	if n, ok := f.budget[a.TenantID]; ok {
		return n, nil
	}
	return notify.DefaultPerMinute, nil
}

func (f *fakeNotifications) SetPerMinute(_ context.Context, a notification.Actor, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("SetPerMinute", a)
	if err := mustAdmin(a); err != nil {
		return err
	}
	if n < 0 || n > notification.MaxPerMinute {
		return fmt.Errorf("%w: per_minute must be between 0 (the default) and %d", notification.ErrInvalid, notification.MaxPerMinute)
	}
	if n == 0 {
		delete(f.budget, a.TenantID)
	} else {
		f.budget[a.TenantID] = n
	}
	return nil
}

// notificationEnv is the admin router over a fakeNotifications, with a
// read-only token of acme besides newAdminEnv's.
func notificationEnv(t *testing.T) (*adminEnv, *fakeNotifications, token.Issued) {
	t.Helper()
	f := newFakeNotifications()
	a := newAdminEnv(t, func(d *api.Deps) { d.Notifications = f })
	if a.acme.ID != acmeID || a.other.ID != otherID {
		t.Fatalf("tenant ids %d, %d", a.acme.ID, a.other.ID)
	}
	reader, err := a.svc.CreateToken(context.Background(), audit.CLI(), "acme", token.Spec{Name: "viewer", Scopes: []token.Scope{token.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	return a, f, reader
}
