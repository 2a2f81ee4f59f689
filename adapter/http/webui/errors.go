package webui

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/pulsemetrics/pulse/domain/dashboard"
)

// fail maps an error of a page or form to its answer. It is the only place
// where the web UI's errors become HTTP answers: validation failures go
// back to the form with the error bag (303), another tenant's or an
// unknown id is 404, a viewer's change is 403; internal failures are
// logged and answered without their text.
func (u *ui) fail(w http.ResponseWriter, r *http.Request, back string, err error) {
	var (
		verr *dashboard.ValidationError
		berr *badRequest
	)
	switch {
	case errors.As(err, &verr):
		if r.Method == http.MethodGet {
			writeJSONError(w, http.StatusUnprocessableEntity, verr.Error())
			return
		}
		if perr := u.inertia.WithErrors(w, r, verr.Fields); perr != nil {
			u.internal(w, r, perr)
			return
		}
		u.inertia.Redirect(w, r, back)
	case errors.As(err, &berr):
		writeJSONError(w, berr.status, berr.msg)
	case errors.Is(err, dashboard.ErrNotFound):
		writeJSONError(w, http.StatusNotFound, dashboard.ErrNotFound.Error())
	case errors.Is(err, dashboard.ErrForbidden):
		writeJSONError(w, http.StatusForbidden, dashboard.ErrForbidden.Error())
	default:
		u.internal(w, r, err)
	}
}

func (u *ui) internal(w http.ResponseWriter, r *http.Request, err error) {
	u.log.Error("web UI: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSONError(w, http.StatusInternalServerError, "internal server error")
}

// writeJSONError answers {"error": msg}, the REST API's error shape.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
