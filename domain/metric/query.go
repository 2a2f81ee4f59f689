package metric

// Point is one datapoint of a query answer: a raw sample (Min = Max = Sum =
// Value, Count = 1) or a rollup bucket starting at TS (Value is the aggregate
// the query asked for, the average by default).
type Point struct {
	TS    int64 // Unix milliseconds
	Value float64
	Min   float64
	Max   float64
	Count int64
	Sum   float64
}

// SeriesPoints is one series (a distinct tag set) of a query answer.
type SeriesPoints struct {
	Tags   Tags
	Points []Point
}

// Query asks for one metric's points of one tenant in [Start, End).
type Query struct {
	TenantID int64
	Name     string
	Start    int64 // Unix ms, inclusive
	End      int64 // Unix ms, exclusive
	Tags     map[string]string
	// TagIn narrows to series whose tag (each key) has one of the values:
	// a group of alert rules reads its rules' series in one query.
	TagIn     map[string][]string
	MaxPoints int
	Interval  string // "auto", "raw" or a rollup step ("1m", "5m")
	Agg       string // the aggregate of rollup points: avg (default), min, max, sum, count
	Cursor    Cursor
}

// Cursor marks where the next page starts: after point (SeriesID, TS).
type Cursor struct {
	SeriesID int64
	TS       int64
	Set      bool
}

// Page is one page of a query answer.
type Page struct {
	Interval string
	Series   []SeriesPoints
	Next     Cursor
}
