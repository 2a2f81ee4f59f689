package webui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// badRequest is a body the adapter cannot read (wrong content type, broken
// JSON, too large): a 400/413 with a message, never a 500.
type badRequest struct {
	status int
	msg    string
}

func (e *badRequest) Error() string { return e.msg }

// formFields is a decoded form: strings by name, plus tags for widgets.
type formFields struct {
	Values map[string]string
	Tags   map[string]string
}

// decodeForm reads a JSON object (what Inertia's axios sends) or an
// application/x-www-form-urlencoded body. Only the names in fields are
// read; "tags" is an object of strings (in a urlencoded form, its JSON).
func decodeForm(r *http.Request, fields ...string) (formFields, error) {
	out := formFields{Values: map[string]string{}}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && r.ContentLength == 0 {
		return out, nil // no body at all: every field empty
	}
	body, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return out, &badRequest{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("the form exceeds the limit of %d bytes", tooBig.Limit)}
	}
	if err != nil {
		return out, &badRequest{status: http.StatusBadRequest, msg: "could not read the request body"}
	}
	switch mt {
	case "application/json":
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return out, &badRequest{status: http.StatusBadRequest, msg: "the body is not a JSON object"}
		}
		for _, f := range fields {
			v, ok := raw[f]
			if !ok || string(v) == "null" {
				continue
			}
			if f == "tags" {
				if err := json.Unmarshal(v, &out.Tags); err != nil {
					return out, &badRequest{status: http.StatusBadRequest, msg: "tags must be an object of string values"}
				}
				continue
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return out, &badRequest{status: http.StatusBadRequest, msg: f + " must be a string"}
			}
			out.Values[f] = s
		}
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return out, &badRequest{status: http.StatusBadRequest, msg: "the form is not valid URL encoding"}
		}
		for _, f := range fields {
			if f == "tags" {
				if t := vals.Get("tags"); t != "" {
					if err := json.Unmarshal([]byte(t), &out.Tags); err != nil {
						return out, &badRequest{status: http.StatusBadRequest, msg: "tags must be a JSON object of string values"}
					}
				}
				continue
			}
			out.Values[f] = vals.Get(f)
		}
	case "":
		if len(body) > 0 {
			return out, &badRequest{status: http.StatusBadRequest, msg: "Content-Type must be application/json or application/x-www-form-urlencoded"}
		}
	default:
		return out, &badRequest{status: http.StatusBadRequest, msg: "Content-Type must be application/json or application/x-www-form-urlencoded"}
	}
	return out, nil
}
