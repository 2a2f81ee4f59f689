// Package spool is pulse-agent's on-disk queue of batches the broker has
// not acknowledged yet: bounded in bytes and in age (the oldest batches are
// dropped first, and counted), read oldest first, and safe against a crash
// or a kill -9 at any instant.
//
// On disk a spool is a directory with one file per batch:
//
//	<seq:20 digits>-<batch time, Unix ms:13+ digits>.batch
//
// holding a 20-byte header (magic "PSP1", the batch time as int64 Unix ms,
// the payload length as uint32, the CRC-32C of time and payload, all big
// endian) followed by the payload. Append writes the file under a ".tmp"
// name, fsyncs it, renames it into place and fsyncs the directory, so a
// batch is in the spool whole or not at all: a crash loses at most the
// batch being written (its ".tmp" file is deleted at the next Open). Remove
// deletes the file once the broker acknowledged the batch; a crash between
// the acknowledgement and the deletion sends that one batch again, which
// Pulse stores idempotently (same series, same timestamps). A file whose
// checksum does not match is dropped and counted rather than sent.
//
// The count of dropped batches survives restarts in the file "dropped"
// (written the same way), so the agent can publish it as a counter.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	magic       = "PSP1"
	headerSize  = 20
	batchExt    = ".batch"
	tmpExt      = ".tmp"
	droppedFile = "dropped"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrTooLarge is returned by Append for a batch bigger than the whole spool.
var ErrTooLarge = errors.New("spool: batch larger than the spool's size bound")

// Options bound a spool. Zero MaxBytes or MaxAge means unbounded.
type Options struct {
	MaxBytes int64
	MaxAge   time.Duration
	// Now is the clock the age bound is measured with (default time.Now).
	Now func() time.Time
}

// Entry is one spooled batch.
type Entry struct {
	Seq     uint64
	At      time.Time // the batch's own time (when it was collected)
	Payload []byte
}

// Stats describes the spool now.
type Stats struct {
	Batches int
	Bytes   int64
	Dropped uint64 // batches dropped (full, expired or corrupt) since the spool was created
}

type item struct {
	seq  uint64
	atMS int64
	size int64
}

func (it item) name() string { return fmt.Sprintf("%020d-%013d%s", it.seq, it.atMS, batchExt) }

// Spool is safe for concurrent use.
type Spool struct {
	dir     string
	opts    Options
	mu      sync.Mutex
	items   []item // oldest first
	bytes   int64
	nextSeq uint64
	dropped uint64
}

// Open opens (creating it if needed) the spool in dir: it deletes what a
// crash left half-written and indexes the batches, oldest first.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: create %s: %w", dir, err)
	}
	s := &Spool{dir: dir, opts: opts, nextSeq: 1}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: read %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpExt):
			_ = os.Remove(filepath.Join(dir, name)) // the batch being written at a crash
		case strings.HasSuffix(name, batchExt):
			it, ok := parseName(name)
			if !ok {
				continue // not ours
			}
			info, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return nil, fmt.Errorf("spool: stat %s: %w", name, err)
			}
			it.size = info.Size()
			s.items = append(s.items, it)
			s.bytes += it.size
			if it.seq >= s.nextSeq {
				s.nextSeq = it.seq + 1
			}
		}
	}
	sort.Slice(s.items, func(i, j int) bool { return s.items[i].seq < s.items[j].seq })
	if b, err := os.ReadFile(filepath.Join(dir, droppedFile)); err == nil {
		s.dropped, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enforceLocked(0); err != nil {
		return nil, err
	}
	return s, nil
}

func parseName(name string) (item, bool) {
	base := strings.TrimSuffix(name, batchExt)
	seqS, atS, ok := strings.Cut(base, "-")
	if !ok {
		return item{}, false
	}
	seq, err1 := strconv.ParseUint(seqS, 10, 64)
	at, err2 := strconv.ParseInt(atS, 10, 64)
	if err1 != nil || err2 != nil {
		return item{}, false
	}
	return item{seq: seq, atMS: at}, true
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Append stores a batch durably (fsynced) behind every other one, first
// dropping the oldest batches while the spool would exceed its size bound
// and those older than its age bound. It returns how many were dropped.
func (s *Spool) Append(at time.Time, payload []byte) (dropped int, err error) {
	size := int64(headerSize + len(payload))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxBytes > 0 && size > s.opts.MaxBytes {
		s.dropped++
		return 1, errors.Join(ErrTooLarge, s.saveDroppedLocked())
	}
	before := s.dropped
	if err := s.enforceLocked(size); err != nil {
		return int(s.dropped - before), err
	}
	it := item{seq: s.nextSeq, atMS: at.UnixMilli(), size: size}
	if err := s.writeLocked(it, payload); err != nil {
		return int(s.dropped - before), err
	}
	s.nextSeq++
	s.items = append(s.items, it)
	s.bytes += size
	return int(s.dropped - before), nil
}

func (s *Spool) writeLocked(it item, payload []byte) error {
	buf := make([]byte, headerSize+len(payload))
	copy(buf, magic)
	binary.BigEndian.PutUint64(buf[4:], uint64(it.atMS))
	binary.BigEndian.PutUint32(buf[12:], uint32(len(payload)))
	copy(buf[headerSize:], payload)
	sum := crc32.Update(crc32.Checksum(buf[4:12], castagnoli), castagnoli, payload)
	binary.BigEndian.PutUint32(buf[16:], sum)
	final := filepath.Join(s.dir, it.name())
	return writeDurably(s.dir, final, buf)
}

// writeDurably writes data to path through a fsynced temporary file and a
// rename, then fsyncs the directory so the rename itself is on disk.
func writeDurably(dir, path string, data []byte) error {
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("spool: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("spool: fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: fsync %s: %w", dir, err)
	}
	return nil
}

// enforceLocked drops expired batches, then the oldest ones until extra
// more bytes fit under the size bound.
func (s *Spool) enforceLocked(extra int64) error {
	n := 0
	if s.opts.MaxAge > 0 {
		oldest := s.opts.Now().Add(-s.opts.MaxAge).UnixMilli()
		for n < len(s.items) && s.items[n].atMS < oldest {
			n++
		}
	}
	if s.opts.MaxBytes > 0 {
		bytes := s.bytes
		for i := 0; i < n; i++ {
			bytes -= s.items[i].size
		}
		for n < len(s.items) && bytes+extra > s.opts.MaxBytes {
			bytes -= s.items[n].size
			n++
		}
	}
	if n == 0 {
		return nil
	}
	for _, it := range s.items[:n] {
		if err := os.Remove(filepath.Join(s.dir, it.name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("spool: drop %s: %w", it.name(), err)
		}
		s.bytes -= it.size
		s.dropped++
	}
	s.items = append(s.items[:0:0], s.items[n:]...)
	return s.saveDroppedLocked()
}

func (s *Spool) saveDroppedLocked() error {
	return writeDurably(s.dir, filepath.Join(s.dir, droppedFile), []byte(strconv.FormatUint(s.dropped, 10)+"\n"))
}

// Oldest returns the oldest batch (ok false when the spool is empty),
// after dropping the expired ones. A batch whose file is corrupt is dropped
// and counted, and the next one returned.
func (s *Spool) Oldest() (e Entry, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enforceLocked(0); err != nil {
		return Entry{}, false, err
	}
	for len(s.items) > 0 {
		it := s.items[0]
		payload, err := s.readLocked(it)
		if err == nil {
			return Entry{Seq: it.seq, At: time.UnixMilli(it.atMS), Payload: payload}, true, nil
		}
		if !errors.Is(err, errCorrupt) {
			return Entry{}, false, err
		}
		_ = os.Remove(filepath.Join(s.dir, it.name()))
		s.items = s.items[1:]
		s.bytes -= it.size
		s.dropped++
		if err := s.saveDroppedLocked(); err != nil {
			return Entry{}, false, err
		}
	}
	return Entry{}, false, nil
}

var errCorrupt = errors.New("spool: corrupt batch file")

func (s *Spool) readLocked(it item) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, it.name()))
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if len(b) < headerSize || string(b[:4]) != magic {
		return nil, errCorrupt
	}
	at := int64(binary.BigEndian.Uint64(b[4:]))
	n := binary.BigEndian.Uint32(b[12:])
	if at != it.atMS || int(n) != len(b)-headerSize {
		return nil, errCorrupt
	}
	payload := b[headerSize:]
	if crc32.Update(crc32.Checksum(b[4:12], castagnoli), castagnoli, payload) != binary.BigEndian.Uint32(b[16:]) {
		return nil, errCorrupt
	}
	return payload, nil
}

// Remove deletes a batch the broker acknowledged. Removing one that is no
// longer there (dropped meanwhile) is not an error.
func (s *Spool) Remove(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, it := range s.items {
		if it.seq != seq {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, it.name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("spool: remove %s: %w", it.name(), err)
		}
		s.items = append(s.items[:i:i], s.items[i+1:]...)
		s.bytes -= it.size
		return nil
	}
	return nil
}

// Stats is the spool's size and drop count now.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Batches: len(s.items), Bytes: s.bytes, Dropped: s.dropped}
}

// List returns every spooled batch, oldest first, reading the directory
// afresh (for inspection and tests; the agent uses Oldest).
func List(dir string) ([]Entry, error) {
	s, err := Open(dir, Options{})
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, it := range s.items {
		p, err := s.readLocked(it)
		if err != nil {
			return out, fmt.Errorf("%s: %w", it.name(), err)
		}
		out = append(out, Entry{Seq: it.seq, At: time.UnixMilli(it.atMS), Payload: p})
	}
	return out, nil
}
