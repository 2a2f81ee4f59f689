package metric

import "fmt"

// FieldError is one problem with one field of one sample.
type FieldError struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every invalid sample of a request; nothing of that
// request is accepted. Doors map it to 422.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Errors) == 0 {
		return "invalid samples"
	}
	f := e.Errors[0]
	return fmt.Sprintf("%d invalid field(s); first: sample %d %s: %s", len(e.Errors), f.Index, f.Field, f.Message)
}

// LimitError says a request as a whole broke a named limit (body size,
// samples per request). Doors map TooLarge ones to 413, the others to 422.
type LimitError struct {
	Limit    string // e.g. "max_body_bytes"
	Max      int64
	TooLarge bool
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("request exceeds the limit %s=%d", e.Limit, e.Max)
}
