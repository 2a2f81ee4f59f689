package live

import (
	"fmt"
	"strconv"
	"strings"
)

// ID orders the hub's entries: the publish time in Unix milliseconds and a
// sequence within it, written "<ms>-<seq>" like a Redis stream id, so that
// every api replica following the same feed gives an entry the same id and
// a client may resume on any of them.
type ID struct {
	Ms  int64
	Seq int64
}

// String is the wire form of id.
func (id ID) String() string {
	return strconv.FormatInt(id.Ms, 10) + "-" + strconv.FormatInt(id.Seq, 10)
}

// IsZero reports the zero id (before every entry).
func (id ID) IsZero() bool { return id == ID{} }

// Less orders ids.
func (id ID) Less(o ID) bool { return id.Ms < o.Ms || (id.Ms == o.Ms && id.Seq < o.Seq) }

// Next is the smallest id after id at ms or later: what a publisher gives
// its next entry when the clock reads ms.
func (id ID) Next(ms int64) ID {
	if ms > id.Ms {
		return ID{Ms: ms}
	}
	return ID{Ms: id.Ms, Seq: id.Seq + 1}
}

// ParseID reads an id as String writes it ("<ms>" alone means seq 0).
func ParseID(s string) (ID, error) {
	msPart, seqPart, hasSeq := strings.Cut(strings.TrimSpace(s), "-")
	ms, err := strconv.ParseInt(msPart, 10, 64)
	if err != nil || ms < 0 {
		return ID{}, fmt.Errorf("event id %q is not <unix ms>-<seq>", s)
	}
	id := ID{Ms: ms}
	if hasSeq {
		if id.Seq, err = strconv.ParseInt(seqPart, 10, 64); err != nil || id.Seq < 0 {
			return ID{}, fmt.Errorf("event id %q is not <unix ms>-<seq>", s)
		}
	}
	return id, nil
}
