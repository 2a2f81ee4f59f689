package webui

import (
	"net/http"

	"github.com/pulsemetrics/pulse/domain/dashboard"
)

var widgetFields = []string{"title", "metric", "tags", "agg", "chart"}

func widgetSpec(f formFields) dashboard.WidgetSpec {
	return dashboard.WidgetSpec{Title: f.Values["title"], Metric: f.Values["metric"], Tags: f.Tags, Agg: f.Values["agg"], Chart: f.Values["chart"]}
}

// addWidget serves POST /dashboards/{id}/widgets: 303 /dashboards/{id}.
func (u *ui) addWidget(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		u.fail(w, r, "", dashboard.ErrNotFound)
		return
	}
	f, err := decodeForm(r, widgetFields...)
	if err != nil {
		u.fail(w, r, dashboardPath(id), err)
		return
	}
	if _, err := u.dashboards.AddWidget(r.Context(), visitFrom(r.Context()).actor(), id, widgetSpec(f)); err != nil {
		u.fail(w, r, dashboardPath(id), err)
		return
	}
	u.flashSuccess(w, r, "Widget added")
	u.inertia.Redirect(w, r, dashboardPath(id))
}

// updateWidget serves PATCH /dashboards/{id}/widgets/{wid}.
func (u *ui) updateWidget(w http.ResponseWriter, r *http.Request) {
	id, ok1 := pathID(r, "id")
	wid, ok2 := pathID(r, "wid")
	if !ok1 || !ok2 {
		u.fail(w, r, "", dashboard.ErrNotFound)
		return
	}
	f, err := decodeForm(r, widgetFields...)
	if err != nil {
		u.fail(w, r, dashboardPath(id), err)
		return
	}
	if err := u.dashboards.UpdateWidget(r.Context(), visitFrom(r.Context()).actor(), id, wid, widgetSpec(f)); err != nil {
		u.fail(w, r, dashboardPath(id), err)
		return
	}
	u.flashSuccess(w, r, "Widget saved")
	u.inertia.Redirect(w, r, dashboardPath(id))
}

// deleteWidget serves DELETE /dashboards/{id}/widgets/{wid}.
func (u *ui) deleteWidget(w http.ResponseWriter, r *http.Request) {
	id, ok1 := pathID(r, "id")
	wid, ok2 := pathID(r, "wid")
	if !ok1 || !ok2 {
		u.fail(w, r, "", dashboard.ErrNotFound)
		return
	}
	if err := u.dashboards.DeleteWidget(r.Context(), visitFrom(r.Context()).actor(), id, wid); err != nil {
		u.fail(w, r, dashboardPath(id), err)
		return
	}
	u.flashSuccess(w, r, "Widget deleted")
	u.inertia.Redirect(w, r, dashboardPath(id))
}
