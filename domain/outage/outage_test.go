package outage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/pulsemetrics/pulse/domain/outage"
)

func TestUnavailable(t *testing.T) {
	cause := errors.New("dial tcp 127.0.0.1:3306: connection refused")
	tests := []struct {
		name      string
		err       error
		wantNil   bool
		wantMatch bool
		wantText  string
	}{
		{name: "nil stays nil", err: outage.Unavailable("database", nil), wantNil: true},
		{name: "marked", err: outage.Unavailable("database", cause), wantMatch: true, wantText: "database unavailable: " + cause.Error()},
		{name: "marked through wrapping", err: fmt.Errorf("look up token: %w", outage.Unavailable("database", cause)), wantMatch: true},
		{name: "the innermost name is kept", err: outage.Unavailable("ingest", outage.Unavailable("queue", cause)), wantMatch: true, wantText: "queue unavailable: " + cause.Error()},
		{name: "a deadline keeps matching", err: outage.Unavailable("queue", context.DeadlineExceeded), wantMatch: true},
		{name: "unmarked", err: cause},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantNil {
				if tt.err != nil {
					t.Fatalf("got %v, want nil", tt.err)
				}
				return
			}
			if got := errors.Is(tt.err, outage.ErrUnavailable); got != tt.wantMatch {
				t.Errorf("errors.Is(ErrUnavailable) = %v, want %v", got, tt.wantMatch)
			}
			if tt.wantMatch && !errors.Is(tt.err, cause) && !errors.Is(tt.err, context.DeadlineExceeded) {
				t.Error("the cause is lost")
			}
			if tt.wantText != "" && tt.err.Error() != tt.wantText {
				t.Errorf("text %q, want %q", tt.err.Error(), tt.wantText)
			}
		})
	}
}
