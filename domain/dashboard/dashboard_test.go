package dashboard_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/domain/dashboard"
)

func TestCheckName(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"Servers", "Servers", true},
		{"  padded  ", "padded", true},
		{strings.Repeat("é", 100), strings.Repeat("é", 100), true},
		{strings.Repeat("é", 101), "", false},
		{"", "", false},
		{"   ", "", false},
		{"tab\there", "", false},
		{"bad\xff", "", false},
	}
	for _, c := range cases {
		got, err := dashboard.CheckName(c.in)
		var ve *dashboard.ValidationError
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("CheckName(%q) = %q, %v", c.in, got, err)
		}
		if err != nil && (!errors.As(err, &ve) || ve.Fields["name"] == "") {
			t.Errorf("CheckName(%q): %v is not a ValidationError on name", c.in, err)
		}
	}
}

func manyTags(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

func TestNewWidget(t *testing.T) {
	cases := []struct {
		name   string
		spec   dashboard.WidgetSpec
		fields []string // bad fields; nil = valid
	}{
		{"minimal", dashboard.WidgetSpec{Metric: "cpu.load"}, nil},
		{"full", dashboard.WidgetSpec{Title: "CPU", Metric: "cpu.load", Tags: map[string]string{"host": "a"}, Agg: "max", Chart: "bar"}, nil},
		{"32 tags", dashboard.WidgetSpec{Metric: "m", Tags: manyTags(32)}, nil},
		{"33 tags", dashboard.WidgetSpec{Metric: "m", Tags: manyTags(33)}, []string{"tags"}},
		{"no metric", dashboard.WidgetSpec{}, []string{"metric"}},
		{"bad metric", dashboard.WidgetSpec{Metric: "9lives"}, []string{"metric"}},
		{"huge metric", dashboard.WidgetSpec{Metric: strings.Repeat("m", 201)}, []string{"metric", "title"}},
		{"bad tag key", dashboard.WidgetSpec{Metric: "m", Tags: map[string]string{"a b": "v"}}, []string{"tags"}},
		{"huge tag value", dashboard.WidgetSpec{Metric: "m", Tags: map[string]string{"k": strings.Repeat("v", 257)}}, []string{"tags"}},
		{"bad agg and chart", dashboard.WidgetSpec{Metric: "m", Agg: "median", Chart: "pie"}, []string{"agg", "chart"}},
		{"long title", dashboard.WidgetSpec{Metric: "m", Title: strings.Repeat("t", 101)}, []string{"title"}},
	}
	for _, c := range cases {
		w, err := dashboard.NewWidget(c.spec)
		if c.fields == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if w.Agg == "" || w.Chart == "" || w.Title == "" {
				t.Errorf("%s: defaults not applied: %+v", c.name, w)
			}
			continue
		}
		var ve *dashboard.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: %v, want a ValidationError", c.name, err)
			continue
		}
		if len(ve.Fields) != len(c.fields) {
			t.Errorf("%s: fields %v, want %v", c.name, ve.Fields, c.fields)
		}
		for _, f := range c.fields {
			if ve.Fields[f] == "" {
				t.Errorf("%s: no message for %s in %v", c.name, f, ve.Fields)
			}
		}
	}
}
