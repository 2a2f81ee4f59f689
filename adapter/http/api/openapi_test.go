package api_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pulsemetrics/pulse/adapter/http/api"
)

// The OpenAPI description (api/openapi.yaml) is the contract other programs
// and the dashboard's generated types rely on: it must name exactly the
// operations the router serves, no more and no fewer.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	raw, err := os.ReadFile("../../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `yaml:"openapi"`
		Paths   map[string]map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("api/openapi.yaml is not valid YAML: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	described := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op["responses"] == nil {
				t.Errorf("%s %s has no responses", method, path)
			}
			described[strings.ToUpper(method)+" "+path] = true
		}
	}
	e := newAdminEnv(t, func(d *api.Deps) {
		d.Alerts, d.Notifications, d.Exports = routesOnlyAlerts{}, routesOnlyNotifications{}, routesOnlyExports{}
	})
	served := map[string]bool{}
	for _, r := range api.Routes(e.h) {
		served[r.String()] = true
	}
	if len(served) == 0 {
		t.Fatal("the router lists no routes")
	}
	var missing, extra []string
	for r := range served {
		if !described[r] {
			missing = append(missing, r)
		}
	}
	for r := range described {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("api/openapi.yaml and the router disagree:\n served but not described: %v\n described but not served: %v", missing, extra)
	}
}

// routesOnlyAlerts registers the alerting routes; this test never calls them.
type routesOnlyAlerts struct{ api.Alerts }

// routesOnlyNotifications registers the notification routes; this test
// never calls them.
type routesOnlyNotifications struct{ api.Notifications }

// routesOnlyExports registers the export routes; this test never calls them.
type routesOnlyExports struct{ api.Exports }
