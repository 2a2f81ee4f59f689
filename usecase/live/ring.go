package live

// ring is one tenant's replay buffer: its entries of the last Replay, at
// most MaxReplaySamples samples, oldest first.
type ring struct {
	entries []Entry
	samples int
	// floor: every entry after it is still here (or was never published);
	// a client resuming from an older id may have missed some.
	floor ID
}

func (r *ring) add(e Entry) {
	r.entries = append(r.entries, e)
	r.samples += len(e.Batch.Samples)
}

// trim drops entries published before cutoffMs and the oldest ones while
// over maxSamples.
func (r *ring) trim(cutoffMs int64, maxSamples int) {
	drop := 0
	for drop < len(r.entries) && (r.entries[drop].ID.Ms < cutoffMs || r.samples > maxSamples) {
		r.samples -= len(r.entries[drop].Batch.Samples)
		if r.floor.Less(r.entries[drop].ID) {
			r.floor = r.entries[drop].ID
		}
		drop++
	}
	if drop > 0 {
		clear(r.entries[:drop])
		r.entries = r.entries[drop:]
	}
}

// after is the entries newer than id, and whether they are all there are
// (false: some after id were dropped).
func (r *ring) after(id ID) ([]Entry, bool) {
	complete := !id.Less(r.floor)
	i := len(r.entries)
	for i > 0 && id.Less(r.entries[i-1].ID) {
		i--
	}
	return r.entries[i:], complete
}
