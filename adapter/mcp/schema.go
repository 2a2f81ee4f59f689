package mcp

import (
	"encoding/json"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
)

// schemaFor infers T's input schema and lets tweak add what struct tags
// cannot say (enums, defaults, bounds), so clients see them in tools/list.
func schemaFor[T any](tweak func(props map[string]*jsonschema.Schema)) *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("mcp: schema of %T: %v", *new(T), err)) // a programming error, caught by the tests
	}
	if tweak != nil {
		tweak(s.Properties)
	}
	return s
}

// enum restricts a string property to values.
func enum[S ~string](p *jsonschema.Schema, values ...S) {
	p.Enum = make([]any, len(values))
	for i, v := range values {
		p.Enum[i] = string(v)
	}
}

// def sets a property's default; the SDK fills it in before the handler runs.
func def(p *jsonschema.Schema, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	p.Default = b
}

// between bounds a number property.
func between(p *jsonschema.Schema, lo, hi float64) {
	p.Minimum, p.Maximum = &lo, &hi
}
