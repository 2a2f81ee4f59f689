package metric

// NameInfo is one entry of a tenant's metric catalogue: a metric name and
// the tag keys its series carry, each with a few of its values (for the
// dashboard's metric and tag selector).
type NameInfo struct {
	Name string
	// Tags are sorted by key; empty when no series of the name has tags.
	Tags []TagKeyInfo
}

// TagKeyInfo is one tag key of a metric name and the first of its values.
type TagKeyInfo struct {
	Key string
	// Values are sorted (byte order) and capped at the number asked for.
	Values []string
	// MoreValues is true when the key has values beyond Values.
	MoreValues bool
}
