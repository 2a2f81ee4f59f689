package api

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// ingestAnswer is the 202 body.
type ingestAnswer struct {
	RequestID string `json:"request_id"`
	Accepted  int    `json:"accepted"`
}

// handleIngest serves POST /api/metrics: one sample or an array of them.
func (s *server) handleIngest(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	buf, err := s.readBody(w, r)
	if buf != nil {
		defer putBuffer(buf)
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	inputs, decodeErrs, err := samplejson.Decode(buf.Bytes(), s.limits.MaxSamples)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if len(decodeErrs) > 0 {
		s.writeError(w, &metric.ValidationError{Errors: samplejson.WithDomainErrors(inputs, decodeErrs, s.sampleLim, s.now())})
		return
	}
	if len(inputs) == 0 {
		s.writeError(w, samplejson.BodyError("no samples in request: send one sample object or a non-empty array"))
		return
	}
	req := ingest.Request{
		Caller: ingest.Caller{TenantID: p.TenantID, Key: p.TokenID, Quota: ingest.Quota{SamplesPerMinute: p.SamplesPerMinute}},
		Inputs: inputs,
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		req.IdempotencyKey = key
		req.Fingerprint = sha256.Sum256(buf.Bytes()) // the decoded body
	}
	res, err := s.ingest.Accept(r.Context(), req)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if res.Rate.Limit != "" {
		setRateHeaders(w.Header(), res.Rate.Max, res.Rate.Remaining, res.Rate.Reset)
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	s.metrics.samplesAccepted.Add(float64(res.Accepted))
	writeJSON(w, http.StatusAccepted, ingestAnswer{RequestID: res.RequestID, Accepted: res.Accepted})
}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxBodyHint bounds what a request's Content-Length reserves up front.
const maxBodyHint = 64 << 10

// maxPooledBuffer keeps one oversized request from pinning memory in the pool.
const maxPooledBuffer = 8 << 20

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	bufferPool.Put(b)
}

var gzipPool sync.Pool // *gzip.Reader

// readBody reads the whole body into a pooled buffer (returned even on error,
// for the caller to put back), enforcing the wire limit and, for gzip, the
// decompressed limit without ever decompressing more than that.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) (*bytes.Buffer, error) {
	wireLimit := &metric.LimitError{Limit: limitBodyBytes, Max: s.limits.MaxBodyBytes, TooLarge: true}
	if r.ContentLength > s.limits.MaxBodyBytes {
		return nil, wireLimit
	}
	body := http.MaxBytesReader(w, r.Body, s.limits.MaxBodyBytes)
	buf := bufferPool.Get().(*bytes.Buffer)

	var src io.Reader = body
	gzipped := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		// Grow as bytes arrive, from a bounded hint: a declared length is
		// a promise, and 50 slow uploads declaring 5 MiB must not hold
		// 250 MiB before sending anything.
		if r.ContentLength > 0 && buf.Cap() < maxBodyHint {
			buf.Grow(int(min(r.ContentLength, maxBodyHint)) + bytes.MinRead)
		}
	case "gzip", "x-gzip":
		zr, err := newGzipReader(body)
		if err != nil {
			return buf, readError(err, wireLimit)
		}
		defer gzipPool.Put(zr)
		src = io.LimitReader(zr, s.limits.MaxDecodedBytes+1)
		gzipped = true
	default:
		return buf, &requestError{status: http.StatusUnsupportedMediaType, msg: "unsupported Content-Encoding " + truncateString(enc, 32) + " (use gzip or none)"}
	}
	if _, err := buf.ReadFrom(src); err != nil {
		return buf, readError(err, wireLimit)
	}
	if gzipped && int64(buf.Len()) > s.limits.MaxDecodedBytes {
		return buf, &metric.LimitError{Limit: limitDecodedBytes, Max: s.limits.MaxDecodedBytes, TooLarge: true}
	}
	return buf, nil
}

func newGzipReader(r io.Reader) (*gzip.Reader, error) {
	if zr, ok := gzipPool.Get().(*gzip.Reader); ok {
		if err := zr.Reset(r); err != nil {
			gzipPool.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(r)
}

// readError tells a body over the wire limit, a corrupt gzip stream and a
// broken connection apart; all are the client's doing.
func readError(err error, wireLimit error) error {
	var tooBig *http.MaxBytesError
	var corrupt flate.CorruptInputError
	switch {
	case errors.As(err, &tooBig):
		return wireLimit
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum), errors.As(err, &corrupt):
		return &requestError{status: http.StatusBadRequest, msg: "request body is not valid gzip"}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &requestError{status: http.StatusRequestTimeout, msg: "the request body did not arrive within the time limit (PULSE_REQUEST_TIMEOUT); send it faster or in smaller requests"}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &requestError{status: http.StatusBadRequest, msg: "request body ended early (truncated upload or gzip stream)"}
	}
	return &requestError{status: http.StatusBadRequest, msg: "could not read the request body"}
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
