package catalogue_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/catalogue"
)

func TestNamesRefusesInvalidRequests(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		limit  int
	}{
		{"negative limit", "", -1},
		{"limit above max", "", catalogue.MaxLimit + 1},
		{"huge limit", "", 1 << 40},
		{"prefix one byte too long", strings.Repeat("a", catalogue.MaxPrefixBytes+1), 10},
		{"huge prefix", strings.Repeat("a", 1<<20), 10},
		{"long prefix of multibyte runes", strings.Repeat("é", 101), 10}, // 202 bytes, 101 runes
		{"prefix not UTF-8", "cpu\xff", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			l := NewMockLister(ctrl) // no expectations: the store must not be asked
			page, err := catalogue.NewService(l).Names(context.Background(), 3, tt.prefix, tt.limit)
			if !errors.Is(err, catalogue.ErrInvalid) {
				t.Fatalf("err = %v, want catalogue.ErrInvalid", err)
			}
			if !reflect.DeepEqual(page, catalogue.Page{}) {
				t.Errorf("page = %+v on error", page)
			}
		})
	}
}

func TestNamesPassesTheNormalisedRequest(t *testing.T) {
	answer := []metric.NameInfo{{Name: "cpu.load", Tags: []metric.TagKeyInfo{{Key: "host", Values: []string{"a"}, MoreValues: true}}}}
	tests := []struct {
		name      string
		prefix    string
		limit     int
		wantLimit int
	}{
		{"defaults", "", 0, catalogue.DefaultLimit},
		{"limit 1", "cpu", 1, 1},
		{"limit at max", "cpu.", catalogue.MaxLimit, catalogue.MaxLimit},
		{"prefix at max", strings.Repeat("a", catalogue.MaxPrefixBytes), 5, 5},
		{"wildcards are passed as they are", "a_%!", 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			l := NewMockLister(ctrl)
			l.EXPECT().MetricNames(gomock.Any(), int64(3), tt.prefix, tt.wantLimit, catalogue.ValuesPerKey).Return(answer, true, nil).Times(1)
			page, err := catalogue.NewService(l).Names(context.Background(), 3, tt.prefix, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if want := (catalogue.Page{Names: answer, More: true}); !reflect.DeepEqual(page, want) {
				t.Errorf("page = %+v, want %+v", page, want)
			}
		})
	}
}

func TestNamesNeverAnswersNil(t *testing.T) {
	ctrl := gomock.NewController(t)
	l := NewMockLister(ctrl)
	l.EXPECT().MetricNames(gomock.Any(), int64(3), "x", catalogue.DefaultLimit, catalogue.ValuesPerKey).Return(nil, false, nil)
	page, err := catalogue.NewService(l).Names(context.Background(), 3, "x", 0)
	if err != nil || page.Names == nil || len(page.Names) != 0 || page.More {
		t.Fatalf("page = %#v, %v; want an empty, non-nil list", page, err)
	}
}

func TestNamesWrapsStoreErrors(t *testing.T) {
	ctrl := gomock.NewController(t)
	l := NewMockLister(ctrl)
	boom := errors.New("connection refused")
	l.EXPECT().MetricNames(gomock.Any(), int64(3), "", catalogue.DefaultLimit, catalogue.ValuesPerKey).Return(nil, false, boom)
	_, err := catalogue.NewService(l).Names(context.Background(), 3, "", 0)
	if !errors.Is(err, boom) || errors.Is(err, catalogue.ErrInvalid) {
		t.Fatalf("err = %v, want the store's error and not ErrInvalid", err)
	}
}
