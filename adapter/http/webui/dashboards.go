package webui

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/pulsemetrics/pulse/adapter/http/inertia"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
)

// summaryWire is DashboardSummary of docs/dashboard.md.
type summaryWire struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Widgets   int    `json:"widgets"`
	UpdatedAt string `json:"updated_at"`
}

type listWire struct {
	Data     []summaryWire `json:"data"`
	Page     int           `json:"page"`
	PerPage  int           `json:"per_page"`
	Total    int           `json:"total"`
	LastPage int           `json:"last_page"`
}

// widgetWire is Widget of docs/dashboard.md.
type widgetWire struct {
	ID       int64             `json:"id"`
	Title    string            `json:"title"`
	Metric   string            `json:"metric"`
	Tags     map[string]string `json:"tags"`
	Agg      string            `json:"agg"`
	Chart    string            `json:"chart"`
	Position int               `json:"position"`
}

// dashboardWire is Dashboard of docs/dashboard.md.
type dashboardWire struct {
	ID        int64        `json:"id"`
	Name      string       `json:"name"`
	UpdatedAt string       `json:"updated_at"`
	Widgets   []widgetWire `json:"widgets"`
}

func toDashboardWire(d dashboard.Dashboard) dashboardWire {
	out := dashboardWire{ID: d.ID, Name: d.Name, UpdatedAt: timeString(d.UpdatedAt), Widgets: make([]widgetWire, len(d.Widgets))}
	for i, w := range d.Widgets {
		tags := w.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		out.Widgets[i] = widgetWire{ID: w.ID, Title: w.Title, Metric: w.Metric, Tags: tags, Agg: string(w.Agg), Chart: string(w.Chart), Position: w.Position}
	}
	return out
}

// listDashboards serves GET /dashboards?page=N (component Dashboards/Index).
func (u *ui) listDashboards(w http.ResponseWriter, r *http.Request) {
	n := 1
	if raw := r.URL.Query().Get("page"); raw != "" {
		p, err := strconv.Atoi(raw)
		if err != nil {
			u.fail(w, r, "", &dashboard.ValidationError{Fields: map[string]string{"page": fmt.Sprintf("page must be an integer between 1 and %d", dashboards.MaxPage)}})
			return
		}
		n = p
	}
	page, err := u.dashboards.List(r.Context(), visitFrom(r.Context()).actor(), n)
	if err != nil {
		u.fail(w, r, "", err)
		return
	}
	list := listWire{Data: make([]summaryWire, len(page.Items)), Page: page.Page, PerPage: page.PerPage, Total: page.Total, LastPage: page.LastPage}
	for i, d := range page.Items {
		list.Data[i] = summaryWire{ID: d.ID, Name: d.Name, Widgets: d.Widgets, UpdatedAt: timeString(d.UpdatedAt)}
	}
	u.render(w, r, "Dashboards/Index", inertia.Props{"dashboards": list})
}

// showDashboard serves GET /dashboards/{id} (component Dashboards/Show).
func (u *ui) showDashboard(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		u.fail(w, r, "", dashboard.ErrNotFound)
		return
	}
	d, err := u.dashboards.Get(r.Context(), visitFrom(r.Context()).actor(), id)
	if err != nil {
		u.fail(w, r, "", err)
		return
	}
	u.render(w, r, "Dashboards/Show", inertia.Props{"dashboard": toDashboardWire(d)})
}

// createDashboard serves POST /dashboards: 303 /dashboards/{id}.
func (u *ui) createDashboard(w http.ResponseWriter, r *http.Request) {
	f, err := decodeForm(r, "name")
	if err != nil {
		u.fail(w, r, "/dashboards", err)
		return
	}
	d, err := u.dashboards.Create(r.Context(), visitFrom(r.Context()).actor(), f.Values["name"])
	if err != nil {
		u.fail(w, r, "/dashboards", err)
		return
	}
	u.flashSuccess(w, r, "Dashboard created")
	u.inertia.Redirect(w, r, dashboardPath(d.ID))
}

// renameDashboard serves PATCH /dashboards/{id}: 303 /dashboards/{id}.
func (u *ui) renameDashboard(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		u.fail(w, r, "", dashboard.ErrNotFound)
		return
	}
	f, err := decodeForm(r, "name")
	if err != nil {
		u.fail(w, r, dashboardPath(id), err)
		return
	}
	if err := u.dashboards.Rename(r.Context(), visitFrom(r.Context()).actor(), id, f.Values["name"]); err != nil {
		u.fail(w, r, dashboardPath(id), err)
		return
	}
	u.flashSuccess(w, r, "Dashboard renamed")
	u.inertia.Redirect(w, r, dashboardPath(id))
}

// deleteDashboard serves DELETE /dashboards/{id}: 303 /dashboards.
func (u *ui) deleteDashboard(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		u.fail(w, r, "", dashboard.ErrNotFound)
		return
	}
	if err := u.dashboards.Delete(r.Context(), visitFrom(r.Context()).actor(), id); err != nil {
		u.fail(w, r, "/dashboards", err)
		return
	}
	u.flashSuccess(w, r, "Dashboard deleted")
	u.inertia.Redirect(w, r, "/dashboards")
}

func dashboardPath(id int64) string { return "/dashboards/" + strconv.FormatInt(id, 10) }

// pathID reads a positive id from the route (the route's pattern allows
// digits only; an id past int64 reads as not found).
func pathID(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(mux.Vars(r)[name], 10, 64)
	return id, err == nil && id > 0
}

func (u *ui) flashSuccess(w http.ResponseWriter, r *http.Request, msg string) {
	if err := u.inertia.PutFlash(w, r, inertia.Flash{Success: msg}); err != nil {
		u.log.Warn("web UI: flash message not kept", "err", err)
	}
}
