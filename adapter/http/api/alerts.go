package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// Alerts is the alerting use case (usecase/alerting.Service).
// Implementations must be safe for concurrent use.
type Alerts interface {
	Policy() alert.Policy
	Create(ctx context.Context, a alerting.Actor, r alert.Rule) (alerting.StoredRule, error)
	Update(ctx context.Context, a alerting.Actor, id int64, r alert.Rule) (alerting.StoredRule, error)
	Delete(ctx context.Context, a alerting.Actor, id int64) error
	Get(ctx context.Context, a alerting.Actor, id int64) (alerting.StoredRule, error)
	List(ctx context.Context, a alerting.Actor, page, perPage int) (alerting.RulePage, error)
	SetPaused(ctx context.Context, a alerting.Actor, id int64, paused bool) (alerting.StoredRule, error)
	Instances(ctx context.Context, a alerting.Actor, f alerting.InstanceFilter) ([]alerting.InstanceRow, int64, error)
	Transitions(ctx context.Context, a alerting.Actor, ruleID, cursor int64, limit int) ([]alerting.HistoryEntry, int64, error)
	Episodes(ctx context.Context, a alerting.Actor, ruleID, cursor int64, limit int) ([]alerting.Episode, int64, error)
	Outbox(ctx context.Context, a alerting.Actor, afterID int64, limit int) ([]alerting.OutboxRow, error)
	Preview(ctx context.Context, a alerting.Actor, req alerting.PreviewRequest) (alert.PreviewResult, error)
}

// guard wraps a handler with the door's authentication for a scope.
type guard func(scope token.Scope, h http.HandlerFunc) http.Handler

// registerAlerts adds the alerting routes under prefix ("/api" for tokens,
// "/ui/api" for the dashboard's session): read lists, admin writes.
func (s *server) registerAlerts(r *mux.Router, prefix string, auth guard) {
	read := func(h http.HandlerFunc) http.Handler { return auth(token.ScopeRead, h) }
	admin := func(h http.HandlerFunc) http.Handler { return auth(token.ScopeAdmin, h) }
	rules := prefix + "/alert-rules"
	one := rules + "/{id:[0-9]+}"
	r.Handle(rules, read(s.handleListRules)).Methods(http.MethodGet)
	r.Handle(rules, admin(s.handleCreateRule)).Methods(http.MethodPost)
	r.Handle(rules+"/preview", read(s.handlePreviewRule)).Methods(http.MethodPost)
	r.Handle(one, read(s.handleGetRule)).Methods(http.MethodGet)
	r.Handle(one, admin(s.handleUpdateRule)).Methods(http.MethodPut)
	r.Handle(one, admin(s.handleDeleteRule)).Methods(http.MethodDelete)
	r.Handle(one+"/pause", admin(s.handlePause(true))).Methods(http.MethodPost)
	r.Handle(one+"/resume", admin(s.handlePause(false))).Methods(http.MethodPost)
	r.Handle(one+"/history", read(s.handleRuleHistory)).Methods(http.MethodGet)
	r.Handle(one+"/episodes", read(s.handleRuleEpisodes)).Methods(http.MethodGet)
	r.Handle(prefix+"/alerts", read(s.handleListAlerts)).Methods(http.MethodGet)
	r.Handle(prefix+"/alert-outbox", admin(s.handleOutbox)).Methods(http.MethodGet)
}

// alertTokenGuard is the token door's guard: writes need admin; reads
// need read, or admin (a tenant admin may look at what it changes).
func (s *server) alertTokenGuard(scope token.Scope, h http.HandlerFunc) http.Handler {
	if scope == token.ScopeRead {
		return s.requireAnyScope(h, token.ScopeRead, token.ScopeAdmin)
	}
	return s.requireScope(scope, h)
}

// AlertDeps is what NewAlertHandlers needs; all are required but Logger.
type AlertDeps struct {
	Alerts    Alerts
	Principal PrincipalFunc
	Logger    *slog.Logger
}

// NewAlertHandlers serves the alerting routes under /ui/api for the
// dashboard's session: the same handlers, answers and error mapping as
// /api, the principal from Principal (an admin user may write, a viewer
// reads).
func NewAlertHandlers(d AlertDeps) http.Handler {
	s := &server{alerts: d.Alerts, log: d.Logger, now: time.Now}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := mux.NewRouter()
	s.registerAlerts(r, "/ui/api", func(scope token.Scope, h http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			p, err := d.Principal(req)
			if err == nil && !p.Can(scope) && !p.Can(token.ScopeAdmin) {
				err = token.ErrForbidden
			}
			if err != nil {
				s.writeError(w, err)
				return
			}
			h(w, req.WithContext(context.WithValue(req.Context(), principalKey, p)))
		})
	})
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no such route"})
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method not allowed on this route"})
	})
	return s.recoverPanics(r)
}

func alertActor(r *http.Request) alerting.Actor {
	p := principalFrom(r.Context())
	return alerting.Actor{TenantID: p.TenantID, Admin: p.Can(token.ScopeAdmin)}
}

func ruleID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64) // the route's pattern admits digits only
	return id
}

// intParam reads an optional non-negative integer query parameter.
func intParam(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, &requestError{status: http.StatusUnprocessableEntity, msg: name + " must be a non-negative integer"}
	}
	return n, nil
}

func (s *server) decodeRule(w http.ResponseWriter, r *http.Request) (alert.Rule, error) {
	var body ruleBody
	if err := decodeBody(w, r, &body); err != nil {
		return alert.Rule{}, err
	}
	rule, bad := body.toRule()
	if len(bad) > 0 {
		return alert.Rule{}, invalidRule(rule, bad, s.alerts.Policy())
	}
	return rule, nil
}

func (s *server) handleListRules(w http.ResponseWriter, r *http.Request) {
	page, err := intParam(r, "page")
	if err != nil {
		s.writeError(w, err)
		return
	}
	per, err := intParam(r, "per_page")
	if err != nil {
		s.writeError(w, err)
		return
	}
	p, err := s.alerts.List(r.Context(), alertActor(r), int(min(page, 1<<30)), int(min(per, 1<<30)))
	if err != nil {
		s.writeError(w, err)
		return
	}
	data := make([]ruleAnswer, 0, len(p.Rules))
	for _, sr := range p.Rules {
		data = append(data, ruleAnswerOf(sr))
	}
	last := max(1, (p.Total+p.PerPage-1)/max(p.PerPage, 1))
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "page": p.Page, "per_page": p.PerPage, "total": p.Total, "last_page": last})
}

func (s *server) handleCreateRule(w http.ResponseWriter, r *http.Request) {
	rule, err := s.decodeRule(w, r)
	if err == nil {
		var sr alerting.StoredRule
		if sr, err = s.alerts.Create(r.Context(), alertActor(r), rule); err == nil {
			w.Header().Set("Location", r.URL.Path+"/"+strconv.FormatInt(sr.ID, 10))
			writeJSON(w, http.StatusCreated, ruleAnswerOf(sr))
			return
		}
	}
	s.writeError(w, err)
}

func (s *server) handleGetRule(w http.ResponseWriter, r *http.Request) {
	sr, err := s.alerts.Get(r.Context(), alertActor(r), ruleID(r))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ruleAnswerOf(sr))
}

func (s *server) handleUpdateRule(w http.ResponseWriter, r *http.Request) {
	rule, err := s.decodeRule(w, r)
	if err == nil {
		var sr alerting.StoredRule
		if sr, err = s.alerts.Update(r.Context(), alertActor(r), ruleID(r), rule); err == nil {
			writeJSON(w, http.StatusOK, ruleAnswerOf(sr))
			return
		}
	}
	s.writeError(w, err)
}

func (s *server) handleDeleteRule(w http.ResponseWriter, r *http.Request) {
	if err := s.alerts.Delete(r.Context(), alertActor(r), ruleID(r)); err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) handlePause(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sr, err := s.alerts.SetPaused(r.Context(), alertActor(r), ruleID(r), paused)
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, ruleAnswerOf(sr))
	}
}

func (s *server) handleRuleHistory(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := s.cursorParams(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	rows, next, err := s.alerts.Transitions(r.Context(), alertActor(r), ruleID(r), cursor, limit)
	if err != nil {
		s.writeError(w, err)
		return
	}
	data := make([]transitionAnswer, 0, len(rows))
	for _, h := range rows {
		data = append(data, historyOf(h))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": cursorString(next)})
}

func (s *server) handleRuleEpisodes(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := s.cursorParams(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	rows, next, err := s.alerts.Episodes(r.Context(), alertActor(r), ruleID(r), cursor, limit)
	if err != nil {
		s.writeError(w, err)
		return
	}
	data := make([]episodeAnswer, 0, len(rows))
	for _, e := range rows {
		data = append(data, episodeOf(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": cursorString(next)})
}

func (s *server) cursorParams(r *http.Request) (limit int, cursor int64, err error) {
	l, err := intParam(r, "limit")
	if err != nil {
		return 0, 0, err
	}
	cursor, err = intParam(r, "cursor")
	return int(min(l, 1<<30)), cursor, err
}

func (s *server) handleListAlerts(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := s.cursorParams(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	rule, err := intParam(r, "rule_id")
	if err != nil {
		s.writeError(w, err)
		return
	}
	f := alerting.InstanceFilter{State: alert.State(r.URL.Query().Get("state")), RuleID: rule, Cursor: cursor, Limit: limit}
	rows, next, err := s.alerts.Instances(r.Context(), alertActor(r), f)
	if err != nil {
		s.writeError(w, err)
		return
	}
	data := make([]instanceAnswer, 0, len(rows))
	for _, in := range rows {
		data = append(data, instanceOf(in))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": cursorString(next)})
}

func (s *server) handleOutbox(w http.ResponseWriter, r *http.Request) {
	limit, after, err := s.cursorParams(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if limit == 0 {
		limit = alerting.DefaultListLimit
	}
	rows, err := s.alerts.Outbox(r.Context(), alertActor(r), after, limit)
	if err != nil {
		s.writeError(w, err)
		return
	}
	data := make([]outboxAnswer, 0, len(rows))
	var next int64
	for _, o := range rows {
		data = append(data, outboxAnswer{ID: o.ID, RuleID: o.RuleID, Kind: string(o.Kind), Instance: o.InstanceKey,
			At: msTime(o.At), Payload: rawJSON(o.Payload), CreatedAt: msTime(o.CreatedAt), DeliveredAt: msTime(o.DeliveredAt)})
		next = o.ID
	}
	if len(rows) < limit {
		next = 0
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": cursorString(next)})
}

// defaultPreviewRange is the preview's range when the body names none.
const defaultPreviewRange = 24 * time.Hour

func (s *server) handlePreviewRule(w http.ResponseWriter, r *http.Request) {
	var body previewBody
	if err := decodeBody(w, r, &body); err != nil {
		s.writeError(w, err)
		return
	}
	rule, bad := body.Rule.toRule()
	end, start := s.now(), time.Time{}
	if body.End != "" {
		t, msg := samplejson.ParseTimeParam(body.End)
		if msg != "" {
			bad["end"] = msg
		}
		end = t
	}
	start = end.Add(-defaultPreviewRange)
	if body.Start != "" {
		t, msg := samplejson.ParseTimeParam(body.Start)
		if msg != "" {
			bad["start"] = msg
		}
		start = t
	}
	if len(bad) > 0 {
		s.writeError(w, invalidRule(rule, bad, s.alerts.Policy()))
		return
	}
	res, err := s.alerts.Preview(r.Context(), alertActor(r), alerting.PreviewRequest{Rule: rule, Start: start, End: end})
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, previewOf(res))
}
