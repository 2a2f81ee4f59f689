package api

import (
	"net/http"
	"strconv"

	"github.com/pulsemetrics/pulse/usecase/notification"
)

func (s *server) handleCreateSilence(w http.ResponseWriter, r *http.Request) {
	var body silenceBody
	if err := decodeUTF8Body(w, r, &body); err != nil {
		s.writeError(w, err)
		return
	}
	in, bad := body.toSilence(s.notifications.NowMS)
	if len(bad) > 0 {
		s.writeError(w, invalidSilence(in, bad, s.notifications.NowMS()))
		return
	}
	out, err := s.notifications.CreateSilence(r.Context(), notificationActor(r), in)
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Location", r.URL.Path+"/"+strconv.FormatInt(out.ID, 10))
	writeJSON(w, http.StatusCreated, silenceAnswerOf(out, s.notifications.NowMS()))
}

func (s *server) handleListSilences(w http.ResponseWriter, r *http.Request) {
	var active bool
	switch v := r.URL.Query().Get("active"); v {
	case "", "false":
	case "true":
		active = true
	default:
		s.writeError(w, &requestError{status: http.StatusUnprocessableEntity, msg: "active must be true or false"})
		return
	}
	list, err := s.notifications.ListSilences(r.Context(), notificationActor(r), active)
	if err != nil {
		s.writeError(w, err)
		return
	}
	now := s.notifications.NowMS()
	data := make([]silenceAnswer, 0, len(list))
	for _, sl := range list {
		data = append(data, silenceAnswerOf(sl, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"silences": data})
}

// handleEndSilence ends a silence now; it stays listed, as history.
func (s *server) handleEndSilence(w http.ResponseWriter, r *http.Request) {
	if err := s.notifications.EndSilence(r.Context(), notificationActor(r), ruleID(r)); err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) handleListMessages(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := s.cursorParams(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	f := notification.MessageFilter{Status: r.URL.Query().Get("status"), Cursor: cursor, Limit: limit}
	if f.ChannelID, err = intParam(r, "channel_id"); err != nil {
		s.writeError(w, err)
		return
	}
	if f.RuleID, err = intParam(r, "rule_id"); err != nil {
		s.writeError(w, err)
		return
	}
	rows, next, err := s.notifications.ListMessages(r.Context(), notificationActor(r), f)
	if err != nil {
		s.writeError(w, err)
		return
	}
	data := make([]messageAnswer, 0, len(rows))
	for _, m := range rows {
		data = append(data, messageAnswerOf(m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": data, "next_cursor": cursorString(next)})
}

// handleGetMessage is what one message carries: the alerting
// notifications, as the outbox holds them.
func (s *server) handleGetMessage(w http.ResponseWriter, r *http.Request) {
	id := ruleID(r)
	ns, err := s.notifications.MessageNotifications(r.Context(), notificationActor(r), id)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if ns == nil {
		ns = []notification.Notification{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "alerts": ns})
}

// handleRetryMessage queues a dead message again.
func (s *server) handleRetryMessage(w http.ResponseWriter, r *http.Request) {
	if err := s.notifications.Retry(r.Context(), notificationActor(r), ruleID(r)); err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) handleGetNotificationSettings(w http.ResponseWriter, r *http.Request) {
	s.writeNotificationSettings(w, r)
}

// handlePutNotificationSettings sets the tenant's budget; the answer is
// the budget in force (per_minute 0 goes back to the default: the answer
// names it).
func (s *server) handlePutNotificationSettings(w http.ResponseWriter, r *http.Request) {
	var body settingsBody
	if err := decodeUTF8Body(w, r, &body); err != nil {
		s.writeError(w, err)
		return
	}
	if body.PerMinute == nil {
		s.writeError(w, &requestError{status: http.StatusUnprocessableEntity, msg: "per_minute is required (0: the server's default)"})
		return
	}
	if err := s.notifications.SetPerMinute(r.Context(), notificationActor(r), *body.PerMinute); err != nil {
		s.writeError(w, err)
		return
	}
	s.writeNotificationSettings(w, r)
}

func (s *server) writeNotificationSettings(w http.ResponseWriter, r *http.Request) {
	n, err := s.notifications.PerMinute(r.Context(), notificationActor(r))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, settingsBody{PerMinute: &n})
}
