package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/goccy/go-json"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/catalogue"
	"github.com/pulsemetrics/pulse/usecase/export"
	"github.com/pulsemetrics/pulse/usecase/ingest"
	"github.com/pulsemetrics/pulse/usecase/live"
	"github.com/pulsemetrics/pulse/usecase/notification"
	"github.com/pulsemetrics/pulse/usecase/query"
)

// errorBody is every error answer: a message, and for validation failures
// the list of every bad field, for limit failures the limit's name and value.
type errorBody struct {
	Error  string              `json:"error"`
	Errors []metric.FieldError `json:"errors,omitempty"`
	Limit  string              `json:"limit,omitempty"`
	Max    int64               `json:"max,omitempty"`
}

// requestError is a client mistake found by the adapter itself (bad
// encoding, unsupported media) that no domain error describes.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// writeError maps err to a status code and a JSON body. It is the only place
// where errors become HTTP answers. Internal failures are logged and answered
// with a generic message: their text never reaches the client.
func (s *server) writeError(w http.ResponseWriter, err error) {
	var (
		verr  *metric.ValidationError
		lerr  *metric.LimitError
		terr  *tenant.InvalidError
		kerr  *token.InvalidError
		rerr  *requestError
		qerr  *ingest.RateLimitError
		ierr  *ingest.IdempotencyError
		aerr  *alert.InvalidRuleError
		cerr  *notify.InvalidChannelError
		serr  *notify.InvalidSilenceError
		slerr *live.LimitError
	)
	switch {
	case errors.As(err, &aerr):
		writeJSON(w, http.StatusUnprocessableEntity, ruleErrorBody(aerr))
	case errors.As(err, &cerr):
		writeJSON(w, http.StatusUnprocessableEntity, fieldErrorBody("invalid notification channel", cerr.Fields))
	case errors.As(err, &serr):
		writeJSON(w, http.StatusUnprocessableEntity, fieldErrorBody("invalid silence", serr.Fields))
	case errors.Is(err, notify.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: notify.ErrNotFound.Error()})
	case errors.Is(err, notify.ErrSilenceNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: notify.ErrSilenceNotFound.Error()})
	case errors.Is(err, notify.ErrMessageNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: notify.ErrMessageNotFound.Error()})
	case errors.Is(err, notify.ErrDuplicateName):
		writeJSON(w, http.StatusConflict, errorBody{Error: notify.ErrDuplicateName.Error()})
	case errors.Is(err, notification.ErrInvalid):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: err.Error()})
	case errors.Is(err, export.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: export.ErrNotFound.Error()})
	case errors.Is(err, export.ErrLinkRefused): // forged or expired: the reason is the link's, not the export's
		writeJSON(w, http.StatusForbidden, errorBody{Error: err.Error()})
	case errors.Is(err, export.ErrNotReady):
		writeJSON(w, http.StatusConflict, errorBody{Error: export.ErrNotReady.Error() + " yet: download it once its status is done"})
	case errors.Is(err, export.ErrInvalid):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: err.Error()})
	case errors.Is(err, alerting.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: alerting.ErrNotFound.Error()})
	case errors.Is(err, alerting.ErrInvalid):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: err.Error()})
	case errors.As(err, &verr):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: validationSummary(verr), Errors: verr.Errors})
	case errors.As(err, &lerr):
		status := http.StatusUnprocessableEntity
		if lerr.TooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, status, errorBody{Error: limitMessage(lerr), Limit: lerr.Limit, Max: lerr.Max})
	case errors.As(err, &rerr):
		writeJSON(w, rerr.status, errorBody{Error: rerr.msg})
	case errors.As(err, &qerr):
		setRateHeaders(w.Header(), qerr.Max, qerr.Remaining, qerr.Reset)
		w.Header().Set("Retry-After", strconv.FormatInt(ceilSeconds(qerr.RetryAfter), 10))
		writeJSON(w, http.StatusTooManyRequests, errorBody{Error: qerr.Error(), Limit: qerr.Limit, Max: qerr.Max})
	case errors.As(err, &ierr):
		status := http.StatusUnprocessableEntity
		if ierr.InProgress {
			status = http.StatusConflict
		}
		writeJSON(w, status, errorBody{Error: ierr.Message})
	case errors.Is(err, tenant.ErrDisabled): // also ErrForbidden: checked first
		writeJSON(w, http.StatusForbidden, errorBody{Error: tenant.ErrDisabled.Error()})
	case errors.Is(err, token.ErrUnauthenticated):
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: token.ErrUnauthenticated.Error()})
	case errors.Is(err, token.ErrForbidden):
		writeJSON(w, http.StatusForbidden, errorBody{Error: token.ErrForbidden.Error()})
	case errors.Is(err, tenant.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: tenant.ErrNotFound.Error()})
	case errors.Is(err, token.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: token.ErrNotFound.Error()})
	case errors.Is(err, tenant.ErrDuplicate):
		writeJSON(w, http.StatusConflict, errorBody{Error: tenant.ErrDuplicate.Error()})
	case errors.Is(err, ingest.ErrBackpressure):
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: ingest.ErrBackpressure.Error()})
	case errors.Is(err, outage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// A dependency failed or did not answer within the request's
		// deadline: the client should retry, nothing was accepted.
		s.log.Warn("dependency unavailable", "err", err)
		w.Header().Set("Retry-After", retryAfterOutage)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: unavailableMessage(err)})
	case errors.As(err, &slerr):
		w.Header().Set("Retry-After", retryAfterOutage)
		writeJSON(w, http.StatusTooManyRequests, errorBody{Error: slerr.Error(), Limit: slerr.Limit, Max: int64(slerr.Max)})
	case errors.Is(err, query.ErrInvalid), errors.Is(err, catalogue.ErrInvalid), errors.Is(err, live.ErrInvalid):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: err.Error()})
	case errors.As(err, &terr):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: terr.Error()})
	case errors.As(err, &kerr):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: kerr.Error()})
	default:
		s.log.Error("internal error", "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal server error"})
	}
}

// retryAfterOutage is the Retry-After of an answer to a dependency's
// failure, in seconds: long enough for a restart, short enough to lose
// little time.
const retryAfterOutage = "5"

// unavailableMessage names what failed (never how: addresses and driver
// texts stay in the log).
func unavailableMessage(err error) string {
	var oe *outage.Error
	if errors.As(err, &oe) {
		return "the " + oe.Dependency + " is unavailable; nothing was accepted, retry later"
	}
	return "the server could not answer in time; nothing was accepted, retry later"
}

func validationSummary(e *metric.ValidationError) string {
	samples := map[int]struct{}{}
	for _, f := range e.Errors {
		samples[f.Index] = struct{}{}
	}
	return fmt.Sprintf("%d invalid field(s) in %d sample(s); nothing was accepted", len(e.Errors), len(samples))
}

// Names of the request-wide limits this adapter enforces.
const (
	limitBodyBytes    = "max_body_bytes"
	limitDecodedBytes = "max_decoded_bytes"
	limitSamples      = samplejson.LimitSamples
)

func limitMessage(e *metric.LimitError) string {
	switch e.Limit {
	case limitBodyBytes:
		return fmt.Sprintf("request body exceeds the limit %s=%d", e.Limit, e.Max)
	case limitDecodedBytes:
		return fmt.Sprintf("decompressed request body exceeds the limit %s=%d", e.Limit, e.Max)
	case limitSamples:
		return fmt.Sprintf("request has more samples than the limit %s=%d", e.Limit, e.Max)
	}
	return e.Error()
}

// writeJSON writes v as the JSON answer with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only our own types are written: this is a programming error
		b = []byte(`{"error":"internal server error"}`)
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// setRateHeaders writes the X-RateLimit-* headers (Reset in seconds from now).
func setRateHeaders(h http.Header, max, remaining int64, reset time.Duration) {
	h.Set("X-RateLimit-Limit", strconv.FormatInt(max, 10))
	h.Set("X-RateLimit-Remaining", strconv.FormatInt(remaining, 10))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilSeconds(reset), 10))
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// ruleErrorBody lists every bad field of a rule, sorted by field name.
func ruleErrorBody(e *alert.InvalidRuleError) errorBody {
	return fieldErrorBody("invalid rule", e.Fields)
}

// fieldErrorBody lists every bad field of what, sorted by field name.
func fieldErrorBody[F ~map[string]string](what string, bad F) errorBody {
	fields := make([]string, 0, len(bad))
	for f := range bad {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	b := errorBody{Error: fmt.Sprintf("%s: %d field(s)", what, len(fields))}
	for _, f := range fields {
		b.Errors = append(b.Errors, metric.FieldError{Field: f, Message: bad[f]})
	}
	return b
}
