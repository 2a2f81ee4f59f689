package flush

// Written tells what one Store.WriteBatches call did with the samples of
// each tenant (keyed by tenant id), so that every accepted sample is
// accounted for: stored, a repeat, or a dedupe_id seen before.
type Written map[int64]WriteCounts

// WriteCounts are one tenant's samples of one write.
type WriteCounts struct {
	// Stored samples are new rows.
	Stored int
	// Repeated samples had a (series, ts) already stored: the first write
	// wins. A batch delivered again after a worker crash counts here too.
	Repeated int
	// Deduped samples carried a dedupe_id already seen within the window.
	Deduped int
}

// Add sums other into w.
func (w Written) Add(other Written) {
	for tenant, c := range other {
		sum := w[tenant]
		sum.Stored += c.Stored
		sum.Repeated += c.Repeated
		sum.Deduped += c.Deduped
		w[tenant] = sum
	}
}

// Samples is the number of samples the write accounted for.
func (w Written) Samples() int {
	n := 0
	for _, c := range w {
		n += c.Stored + c.Repeated + c.Deduped
	}
	return n
}
