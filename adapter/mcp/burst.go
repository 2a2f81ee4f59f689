package mcp

import (
	"context"
	"fmt"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
)

// MaxBurstSamples bounds one generate_burst call: the default token quota
// is 600,000 samples a minute, and a larger burst belongs to `pulse generate`.
const MaxBurstSamples = 1_000_000

type burstInput struct {
	Name      string   `json:"name" jsonschema:"the metric name, e.g. demo.cpu (letters, digits and . _ : -, starting with a letter or _)"`
	Pattern   string   `json:"pattern,omitempty" jsonschema:"the shape over time"`
	Amplitude float64  `json:"amplitude,omitempty" jsonschema:"the pattern's height (≥ 0): sine/sawtooth swing ±amplitude around offset, step and spike add it, counter grows by about it per sample, random-walk steps at most amplitude/10"`
	Offset    float64  `json:"offset,omitempty" jsonschema:"the baseline the pattern moves around"`
	Noise     float64  `json:"noise,omitempty" jsonschema:"uniform ±noise added to every value (≥ 0)"`
	Period    string   `json:"period,omitempty" jsonschema:"Go duration of one cycle of a periodic pattern (e.g. 1h); each series is phase-shifted"`
	Tags      []string `json:"tags,omitempty" jsonschema:"tag templates key=value, one series per combination; {1..5} counts (and {01..10} keeps zero padding), {a,b} lists alternatives: [\"host=web-{1..3}\", \"dc={eu,us}\"] makes 6 series; none makes one series without tags"`
	Every     string   `json:"every,omitempty" jsonschema:"Go duration between two samples of a series (at least 1ms)"`
	Duration  string   `json:"duration,omitempty" jsonschema:"how long the burst spans (a Go duration, or 7d); it ends now unless from or to is given; default 1h"`
	From      string   `json:"from,omitempty" jsonschema:"start: RFC 3339, Unix seconds or milliseconds, or now"`
	To        string   `json:"to,omitempty" jsonschema:"end (exclusive), as from; default now"`
	Seed      uint64   `json:"seed,omitempty" jsonschema:"the random seed: the same parameters and seed give the same values"`
}

type burstOutput struct {
	Name    string `json:"name"`
	Samples int64  `json:"samples" jsonschema:"samples posted and accepted"`
	Series  int    `json:"series"`
	Steps   int64  `json:"steps" jsonschema:"samples per series"`
	From    string `json:"from" jsonschema:"the first sample's time (RFC 3339)"`
	To      string `json:"to" jsonschema:"the range's end, exclusive (RFC 3339)"`
	Every   string `json:"every"`
	Batches int    `json:"batches" jsonschema:"POST /api/metrics requests made"`
	// FirstSeriesTags shows what the templates expanded to.
	FirstSeriesTags map[string]string `json:"first_series_tags"`
}

func (t *tools) addBurst(s *mcpsdk.Server) {
	in := schemaFor[burstInput](func(p map[string]*jsonschema.Schema) {
		enum(p["pattern"], synth.Patterns...)
		def(p["pattern"], synth.Sine)
		def(p["amplitude"], 1.0)
		def(p["period"], "1h")
		def(p["every"], "10s")
		p["amplitude"].Minimum = new(float64)
		p["noise"].Minimum = new(float64)
	})
	mcpsdk.AddTool(s, &mcpsdk.Tool{
		Name: "generate_burst",
		Description: "Generate a deterministic synthetic series (sine, noise, step, spike, sawtooth, random-walk or counter) " +
			"over tag-templated series at a fixed interval and post it to Pulse at " + t.at + " (POST /api/metrics, " +
			"5,000 samples a request) as the token's tenant; at most 1,000,000 samples a call. Returns the samples, series and range: " +
			"query_metric over that range with interval raw reads them back once the workers have stored them (usually within a second).",
		InputSchema: in,
		Annotations: writes("Generate a metric burst", true),
	}, t.burst)
}

func (t *tools) burst(ctx context.Context, _ *mcpsdk.CallToolRequest, in burstInput) (*mcpsdk.CallToolResult, burstOutput, error) {
	var out burstOutput
	spec, err := t.burstSpec(in)
	if err != nil {
		return nil, out, err
	}
	plan, err := synth.NewPlan(spec)
	if err != nil {
		return nil, out, err
	}
	if n := plan.Samples(); n > MaxBurstSamples {
		return nil, out, fmt.Errorf("%d samples (%d series × %d steps): at most %d in one call; widen every, shorten the range or use fewer tag values", n, len(plan.Series), plan.Steps, MaxBurstSamples)
	}
	out = burstOutput{Name: spec.Name, Series: len(plan.Series), Steps: plan.Steps, From: stamp(spec.Start), To: stamp(spec.End),
		Every: spec.Every.String(), FirstSeriesTags: plan.Series[0]}
	err = plan.Generate(IngestBatch, func(batch []metric.Input) error {
		n, err := t.b.Ingest(ctx, batch)
		out.Batches++
		out.Samples += int64(n)
		return err
	})
	if err != nil {
		return nil, out, fmt.Errorf("%d of %d samples were accepted (%d requests), then: %w", out.Samples, plan.Samples(), out.Batches, err)
	}
	return nil, out, nil
}

// burstSpec turns the tool's strings into a synth.Spec; synth.NewPlan
// checks the rest.
func (t *tools) burstSpec(in burstInput) (synth.Spec, error) {
	now := t.now().Truncate(time.Millisecond)
	var problems []string
	spec := synth.Spec{Name: in.Name, Pattern: synth.Pattern(in.Pattern), Amplitude: in.Amplitude, Offset: in.Offset,
		Noise: in.Noise, Tags: in.Tags, Seed: in.Seed}
	var err error
	if spec.Period, err = duration("period", in.Period, time.Hour); err != nil {
		problems = append(problems, err.Error())
	}
	if spec.Every, err = duration("every", in.Every, 10*time.Second); err != nil {
		problems = append(problems, err.Error())
	}
	if spec.Start, spec.End, err = window(in.From, in.To, "duration", in.Duration, time.Hour, now); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return spec, &synth.InvalidSpecError{Problems: problems}
	}
	return spec, nil
}

// duration parses a Go duration field, def when empty.
func duration(field, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want a Go duration such as 500ms, 10s, 1m or 1h", field, s)
	}
	return d, nil
}
