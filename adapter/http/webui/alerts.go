package webui

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/pulsemetrics/pulse/adapter/http/inertia"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
)

// The alerts pages (docs/dashboard.md "Pages"): the Vue app loads the rules,
// instances, history and previews itself from /ui/api/alert-rules and
// /ui/api/alerts (the REST API's alert handlers behind the session), so the
// pages carry only which rule they show.

// listAlerts serves GET /alerts?page=N (component Alerts/Index, props {page}).
func (u *ui) listAlerts(w http.ResponseWriter, r *http.Request) {
	n := 1
	if raw := r.URL.Query().Get("page"); raw != "" {
		p, err := strconv.Atoi(raw)
		if err != nil || p < 1 || p > dashboards.MaxPage {
			u.fail(w, r, "", &dashboard.ValidationError{Fields: map[string]string{"page": fmt.Sprintf("page must be an integer between 1 and %d", dashboards.MaxPage)}})
			return
		}
		n = p
	}
	u.render(w, r, "Alerts/Index", inertia.Props{"page": n})
}

// newAlert serves GET /alerts/new (component Alerts/Edit, props {rule_id: null}).
func (u *ui) newAlert(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "Alerts/Edit", inertia.Props{"rule_id": nil})
}

// editAlert serves GET /alerts/{id}/edit (component Alerts/Edit, props {rule_id}).
func (u *ui) editAlert(w http.ResponseWriter, r *http.Request) {
	u.alertPage(w, r, "Alerts/Edit")
}

// showAlert serves GET /alerts/{id} (component Alerts/Show, props {rule_id}).
func (u *ui) showAlert(w http.ResponseWriter, r *http.Request) {
	u.alertPage(w, r, "Alerts/Show")
}

// alertPage renders a page of one rule. Whether the rule is the tenant's is
// for the alert handlers to say (404) when the page loads it.
func (u *ui) alertPage(w http.ResponseWriter, r *http.Request, component string) {
	id, ok := pathID(r, "id")
	if !ok {
		u.fail(w, r, "", dashboard.ErrNotFound)
		return
	}
	u.render(w, r, component, inertia.Props{"rule_id": id})
}

// firingCount is the shared prop alerts_firing: the session tenant's firing
// instances, 0 when logged out, without a tenant, without a counter, or
// when counting fails (logged: the page still renders).
func (u *ui) firingCount(r *http.Request, v *visit) int {
	if u.firing == nil || !v.loggedIn() || v.current.Tenant == nil {
		return 0
	}
	n, err := u.firing(r.Context(), v.current.Tenant.ID)
	if err != nil {
		u.log.Warn("web UI: firing alerts not counted", "tenant", v.current.Tenant.ID, "err", err)
		return 0
	}
	return n
}
