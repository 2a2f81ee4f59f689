package webui

import (
	"net/http"

	"github.com/pulsemetrics/pulse/adapter/http/inertia"
)

// The notification pages (docs/dashboard.md "Pages"): like the alerts
// pages they carry no tenant data. The Vue app loads the channels,
// silences and notifications itself from /ui/api/channels,
// /ui/api/silences and /ui/api/notifications (the REST API's handlers
// behind the session), and offers the changes to admins only.

// notificationStatuses are the values of GET /notifications?status=.
var notificationStatuses = map[string]bool{"queued": true, "sent": true, "dead": true}

// listChannels serves GET /channels (component Channels/Index, no props).
func (u *ui) listChannels(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "Channels/Index", inertia.Props{})
}

// listSilences serves GET /silences (component Silences/Index, no props).
func (u *ui) listSilences(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "Silences/Index", inertia.Props{})
}

// listNotifications serves GET /notifications?status=queued|sent|dead
// (component Notifications/Index, props {status}: null when absent, the
// "All" tab). Another status is 422.
func (u *ui) listNotifications(w http.ResponseWriter, r *http.Request) {
	var status any
	if raw, ok := r.URL.Query()["status"]; ok && raw[0] != "" {
		if len(raw) > 1 || !notificationStatuses[raw[0]] {
			writeJSONError(w, http.StatusUnprocessableEntity, "status must be one of queued, sent, dead")
			return
		}
		status = raw[0]
	}
	u.render(w, r, "Notifications/Index", inertia.Props{"status": status})
}
