package alert

import "github.com/pulsemetrics/pulse/domain/metric"

// State is an alert instance's state, as Grafana names them.
type State string

// The states. Error means the evaluation itself failed (the store did not
// answer), not that the metric is bad.
const (
	Normal     State = "normal"
	Pending    State = "pending"
	Firing     State = "firing"
	Recovering State = "recovering"
	NoData     State = "nodata"
	Error      State = "error"
)

// severityOrder ranks states for "the worst instance" (a rule's badge).
var severityOrder = map[State]int{Normal: 0, NoData: 1, Pending: 2, Error: 3, Recovering: 4, Firing: 5}

// Worst is the worst of states (Normal for none).
func Worst(states ...State) State {
	worst := Normal
	for _, s := range states {
		if severityOrder[s] > severityOrder[worst] {
			worst = s
		}
	}
	return worst
}

// Notify says which notification a transition sends ("" for none).
type Notify string

// The notifications a transition can send (the outbox's kinds).
const (
	NotifyNone     Notify = ""
	NotifyFiring   Notify = "firing"
	NotifyResolved Notify = "resolved"
	NotifyNoData   Notify = "nodata"
)

// Instance is one alert instance of a rule: a series, or a group_by group.
type Instance struct {
	Key    string
	Labels metric.Tags
	State  State
	// Since is when the instance entered State (Unix ms).
	Since int64
	// ActiveAt is when the current episode became active (Pending's start,
	// or Firing's when for is 0); 0 when Normal.
	ActiveAt int64
	// FiredAt is when the current episode began firing; 0 when not firing.
	// Recovering, and Error during a firing episode, keep it.
	FiredAt  int64
	Value    float64
	HasValue bool
	LastEval int64
}

// Observation is what one evaluation saw for an instance.
type Observation struct {
	HasData bool    // the window held at least one sample
	Value   float64 // the aggregate, when HasData
	Failed  bool    // the evaluation could not read the data
	// Covered is the observation of a rule's no-series instance (key "")
	// once its series report again: healthy, with no value of its own.
	Covered bool
}

// Transition is one change of an instance's state.
type Transition struct {
	Key      string
	Labels   metric.Tags
	From, To State
	At       int64
	Value    float64
	HasValue bool
	Notify   Notify
	// FiredAt is the firing episode's start for a transition that opens
	// (To Firing from a non-firing state) or closes one (Notify resolved,
	// or nodata out of a firing episode); 0 otherwise.
	FiredAt int64
	// Opens and Closes tell the episode ("alerts" row) it starts or ends.
	Opens, Closes bool
}

// Step is the state machine: the instance after one observation at now,
// and the transition it made (nil when the state did not change).
//
//	Normal  --breach, for=0--> Firing     (notify firing)
//	Normal  --breach--------> Pending
//	Pending --healthy-------> Normal
//	Pending --breach, now-ActiveAt >= for--> Firing (notify firing)
//	Firing  --healthy, keep_firing_for=0--> Normal (notify resolved)
//	Firing  --healthy-------> Recovering
//	Recovering --breach-----> Firing      (the same episode, no notification)
//	Recovering --healthy, now-Since >= keep_firing_for--> Normal (notify resolved)
//	any --no samples, policy nodata--> NoData (notify nodata; ends a firing episode)
//	any --read failed--> Error (a firing episode stays open)
//
// No samples under "alerting" is a breach, under "ok" healthy, under
// "keep_last" no change. NoData and Error leave to what the next
// observation says, from Normal (or from Firing when an episode is open,
// from Pending when a read failed during Pending).
func Step(r Rule, in Instance, obs Observation, now int64) (Instance, *Transition) {
	out := in
	out.LastEval = now
	if in.State == "" {
		out.State, out.Since = Normal, now
		in.State = Normal
	}
	if obs.Failed {
		if in.State == Error {
			return out, nil
		}
		out.State, out.Since = Error, now
		return out, transition(in, out, now, obs, NotifyNone)
	}
	breach := false
	if obs.Covered {
		out.HasValue = false
	} else if !obs.HasData {
		switch r.NoData {
		case NoDataKeepLast:
			return out, nil
		case NoDataAlerting:
			breach = true
		case NoDataOK:
		default:
			if in.State == NoData {
				return out, nil
			}
			out.State, out.Since, out.ActiveAt, out.FiredAt = NoData, now, 0, 0
			out.HasValue = false
			t := transition(in, out, now, obs, NotifyNoData)
			t.FiredAt, t.Closes = in.FiredAt, in.FiredAt != 0
			return out, t
		}
	} else {
		out.Value, out.HasValue = obs.Value, true
		breach = r.Op.Breaches(obs.Value, r.Threshold)
	}

	from := in.State
	if from == NoData || from == Error {
		from = Normal
		switch {
		case in.FiredAt != 0:
			from = Firing
		case in.State == Error && in.ActiveAt != 0:
			// A failed read does not restart a Pending timer.
			from = Pending
		}
	}
	to, notify := from, NotifyNone
	switch from {
	case Normal:
		if breach {
			out.ActiveAt = now
			to = Pending
			if r.For == 0 {
				to, notify = Firing, NotifyFiring
			}
		}
	case Pending:
		switch {
		case !breach:
			to = Normal
		case now-in.ActiveAt >= r.For.Milliseconds():
			to, notify = Firing, NotifyFiring
		}
	case Firing:
		if !breach {
			to = Recovering
			if r.KeepFiringFor == 0 {
				to, notify = Normal, NotifyResolved
			}
		}
	case Recovering:
		switch {
		case breach:
			to = Firing
		case now-in.Since >= r.KeepFiringFor.Milliseconds():
			to, notify = Normal, NotifyResolved
		}
	}
	if to == in.State {
		return out, nil
	}
	out.State, out.Since = to, now
	t := transition(in, out, now, obs, notify)
	switch {
	case notify == NotifyFiring:
		out.FiredAt = now
		t.FiredAt, t.Opens = now, true
	case notify == NotifyResolved:
		t.FiredAt, t.Closes = in.FiredAt, true
		out.FiredAt = 0
	}
	if to == Normal {
		out.ActiveAt, out.FiredAt = 0, 0
	}
	return out, t
}

func transition(in, out Instance, now int64, obs Observation, n Notify) *Transition {
	return &Transition{
		Key: in.Key, Labels: in.Labels, From: in.State, To: out.State, At: now,
		Value: obs.Value, HasValue: obs.HasData && !obs.Failed, Notify: n,
	}
}

// Evaluation is the outcome of evaluating a rule once.
type Evaluation struct {
	Instances   []Instance
	Transitions []Transition
}

// Evaluate runs Step for every instance at now: the groups the window read
// produced (new ones start Normal) and the known instances that had no
// samples this time (a series that stopped reporting, under the no-data
// policy). When the rule selects no series at all and knows no instance,
// an instance without labels (key "") takes the no-data policy; it turns
// healthy once series report. known and groups may be in any order; the answer follows groups,
// then the missing known instances in their order.
func Evaluate(r Rule, known []Instance, groups []Group, now int64) Evaluation {
	byKey := make(map[string]Instance, len(known))
	for _, in := range known {
		byKey[in.Key] = in
	}
	var ev Evaluation
	step := func(in Instance, obs Observation) {
		out, t := Step(r, in, obs, now)
		ev.Instances = append(ev.Instances, out)
		if t != nil {
			ev.Transitions = append(ev.Transitions, *t)
		}
	}
	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		in, ok := byKey[g.Key]
		if !ok {
			in = Instance{Key: g.Key, Labels: g.Labels, State: Normal, Since: now}
		}
		seen[g.Key] = true
		v, has := g.Window.Value(r.Agg)
		step(in, Observation{HasData: has, Value: v})
	}
	noSeries := len(groups) == 0
	for _, in := range known {
		switch {
		case seen[in.Key]:
		case in.Key == "" && !noSeries:
			step(in, Observation{Covered: true})
		default:
			step(in, Observation{})
		}
	}
	if noSeries && len(known) == 0 && (r.NoData == NoDataState || r.NoData == NoDataAlerting) {
		// A metric that never reported (or a rule whose matchers select
		// nothing) is what the no-data policy is for: one instance without
		// labels carries it, as Grafana does, until series report.
		step(Instance{Key: "", State: Normal, Since: now}, Observation{})
	}
	return ev
}

// Fail is Evaluate when the read failed: every known instance goes Error.
func Fail(r Rule, known []Instance, now int64) Evaluation {
	var ev Evaluation
	for _, in := range known {
		out, t := Step(r, in, Observation{Failed: true}, now)
		ev.Instances = append(ev.Instances, out)
		if t != nil {
			ev.Transitions = append(ev.Transitions, *t)
		}
	}
	return ev
}
