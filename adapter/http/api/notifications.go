package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// Notifications is the notification use case (usecase/notification.Service):
// a tenant's channels, silences, sent and queued messages, and budget.
// Implementations must be safe for concurrent use.
type Notifications interface {
	ListChannels(ctx context.Context, a notification.Actor) ([]notification.ChannelView, error)
	GetChannel(ctx context.Context, a notification.Actor, id int64) (notification.ChannelView, error)
	// CreateChannel and UpdateChannel answer, in shownOnce, a webhook's new
	// signing secret: the one time it is shown.
	CreateChannel(ctx context.Context, a notification.Actor, in notification.ChannelInput) (v notification.ChannelView, shownOnce string, err error)
	UpdateChannel(ctx context.Context, a notification.Actor, id int64, in notification.ChannelInput) (v notification.ChannelView, shownOnce string, err error)
	DeleteChannel(ctx context.Context, a notification.Actor, id int64) error
	TestChannel(ctx context.Context, a notification.Actor, id int64) (notification.TestResult, error)

	CreateSilence(ctx context.Context, a notification.Actor, in notify.Silence) (notify.Silence, error)
	ListSilences(ctx context.Context, a notification.Actor, activeOnly bool) ([]notify.Silence, error)
	EndSilence(ctx context.Context, a notification.Actor, id int64) error
	// NowMS is the use case's clock (Unix ms): whether a silence is active.
	NowMS() int64

	ListMessages(ctx context.Context, a notification.Actor, f notification.MessageFilter) ([]notification.MessageRow, int64, error)
	MessageNotifications(ctx context.Context, a notification.Actor, id int64) ([]notification.Notification, error)
	Retry(ctx context.Context, a notification.Actor, id int64) error

	PerMinute(ctx context.Context, a notification.Actor) (int, error)
	SetPerMinute(ctx context.Context, a notification.Actor, n int) error
}

// registerNotifications adds the notification routes under prefix ("/api"
// for tokens, "/ui/api" for the dashboard's session): read lists, admin
// writes.
func (s *server) registerNotifications(r *mux.Router, prefix string, auth guard) {
	read := func(h http.HandlerFunc) http.Handler { return auth(token.ScopeRead, h) }
	admin := func(h http.HandlerFunc) http.Handler { return auth(token.ScopeAdmin, h) }
	channels := prefix + "/channels"
	channel := channels + "/{id:[0-9]+}"
	r.Handle(channels, read(s.handleListChannels)).Methods(http.MethodGet)
	r.Handle(channels, admin(s.handleCreateChannel)).Methods(http.MethodPost)
	r.Handle(channel, read(s.handleGetChannel)).Methods(http.MethodGet)
	r.Handle(channel, admin(s.handleUpdateChannel)).Methods(http.MethodPut)
	r.Handle(channel, admin(s.handleDeleteChannel)).Methods(http.MethodDelete)
	r.Handle(channel+"/test", admin(s.handleTestChannel)).Methods(http.MethodPost)
	silences := prefix + "/silences"
	r.Handle(silences, read(s.handleListSilences)).Methods(http.MethodGet)
	r.Handle(silences, admin(s.handleCreateSilence)).Methods(http.MethodPost)
	r.Handle(silences+"/{id:[0-9]+}", admin(s.handleEndSilence)).Methods(http.MethodDelete)
	messages := prefix + "/notifications"
	message := messages + "/{id:[0-9]+}"
	r.Handle(messages, read(s.handleListMessages)).Methods(http.MethodGet)
	r.Handle(message, read(s.handleGetMessage)).Methods(http.MethodGet)
	r.Handle(message+"/retry", admin(s.handleRetryMessage)).Methods(http.MethodPost)
	settings := prefix + "/notification-settings"
	r.Handle(settings, read(s.handleGetNotificationSettings)).Methods(http.MethodGet)
	r.Handle(settings, admin(s.handlePutNotificationSettings)).Methods(http.MethodPut)
}

// NotificationDeps is what NewNotificationHandlers needs; all are required
// but Logger.
type NotificationDeps struct {
	Notifications Notifications
	Principal     PrincipalFunc
	Logger        *slog.Logger
}

// NewNotificationHandlers serves the notification routes under /ui/api for
// the dashboard's session: the same handlers, answers and error mapping as
// /api, the principal from Principal (an admin user may write, a viewer
// reads).
func NewNotificationHandlers(d NotificationDeps) http.Handler {
	s := &server{notifications: d.Notifications, log: d.Logger, now: time.Now}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s.sessionRouter(d.Principal, s.registerNotifications)
}

// sessionRouter is a router of the routes register adds under /ui/api,
// each guarded by the session's principal: a route's scope, or admin.
func (s *server) sessionRouter(principal PrincipalFunc, register func(*mux.Router, string, guard)) http.Handler {
	r := mux.NewRouter()
	register(r, "/ui/api", func(scope token.Scope, h http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			p, err := principal(req)
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

// notificationActor is who a request acts as. A principal has no display
// name: a silence's creator is its token's id, or "user:N" for a session.
func notificationActor(r *http.Request) notification.Actor {
	p := principalFrom(r.Context())
	return notification.Actor{TenantID: p.TenantID, Admin: p.Can(token.ScopeAdmin), Name: p.TokenID}
}

// decodeUTF8Body is decodeBody that also refuses a body that is not UTF-8
// (400): the decoder would replace its bad bytes with U+FFFD and store
// the result as if the client had sent it.
func decodeUTF8Body(w http.ResponseWriter, r *http.Request, v any) error {
	var seen bytes.Buffer
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(r.Body, &seen), r.Body}
	if err := decodeBody(w, r, v); err != nil {
		return err
	}
	if !utf8.Valid(seen.Bytes()) {
		return &requestError{status: http.StatusBadRequest, msg: "request body is not valid UTF-8"}
	}
	return nil
}

func (s *server) decodeChannel(w http.ResponseWriter, r *http.Request) (notification.ChannelInput, error) {
	body := newChannelRequest()
	if err := decodeUTF8Body(w, r, &body); err != nil {
		return notification.ChannelInput{}, err
	}
	in, bad := body.toInput()
	if len(bad) > 0 {
		return notification.ChannelInput{}, invalidChannel(in.Channel, bad)
	}
	return in, nil
}

func (s *server) handleListChannels(w http.ResponseWriter, r *http.Request) {
	vs, err := s.notifications.ListChannels(r.Context(), notificationActor(r))
	if err != nil {
		s.writeError(w, err)
		return
	}
	data := make([]channelAnswer, 0, len(vs))
	for _, v := range vs {
		data = append(data, channelAnswerOf(v, ""))
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": data})
}

func (s *server) handleCreateChannel(w http.ResponseWriter, r *http.Request) {
	in, err := s.decodeChannel(w, r)
	if err == nil {
		var (
			v         notification.ChannelView
			shownOnce string
		)
		if v, shownOnce, err = s.notifications.CreateChannel(r.Context(), notificationActor(r), in); err == nil {
			w.Header().Set("Location", r.URL.Path+"/"+strconv.FormatInt(v.ID, 10))
			writeJSON(w, http.StatusCreated, channelAnswerOf(v, shownOnce))
			return
		}
	}
	s.writeError(w, err)
}

func (s *server) handleGetChannel(w http.ResponseWriter, r *http.Request) {
	v, err := s.notifications.GetChannel(r.Context(), notificationActor(r), ruleID(r))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, channelAnswerOf(v, ""))
}

func (s *server) handleUpdateChannel(w http.ResponseWriter, r *http.Request) {
	in, err := s.decodeChannel(w, r)
	if err == nil {
		var (
			v         notification.ChannelView
			shownOnce string
		)
		if v, shownOnce, err = s.notifications.UpdateChannel(r.Context(), notificationActor(r), ruleID(r), in); err == nil {
			writeJSON(w, http.StatusOK, channelAnswerOf(v, shownOnce))
			return
		}
	}
	s.writeError(w, err)
}

func (s *server) handleDeleteChannel(w http.ResponseWriter, r *http.Request) {
	if err := s.notifications.DeleteChannel(r.Context(), notificationActor(r), ruleID(r)); err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleTestChannel sends a sample message now; what the receiver did
// with it, a refusal too, is the answer (200).
func (s *server) handleTestChannel(w http.ResponseWriter, r *http.Request) {
	res, err := s.notifications.TestChannel(r.Context(), notificationActor(r), ruleID(r))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, testAnswerOf(res))
}
