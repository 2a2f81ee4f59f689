package secretbox

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyEnv is the variable that holds the key in distributed mode.
const KeyEnv = "PULSE_SECRET_KEY"

const keyForm = KeyEnv + " must be 32 random bytes in base64, e.g. the output of `openssl rand -base64 32`"

// ParseKey decodes a key given as base64 of 32 bytes: standard (what
// openssl prints, padded or not) or URL-safe (padded or not). Surrounding
// space is ignored (a file or an env var often ends in a newline). The
// error never repeats the value: it may be a real key with a typo.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("secretbox: %s is empty; %s", KeyEnv, keyForm)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.Strict().DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("secretbox: %s decodes to %d bytes, want %d; %s", KeyEnv, len(key), KeySize, keyForm)
		}
		return key, nil
	}
	return nil, fmt.Errorf("secretbox: %s is not base64 (%d characters); %s", KeyEnv, len(s), keyForm)
}

// LoadOrCreateKeyFile reads the key at path (embedded mode keeps it in
// the data dir), or creates one from random (crypto/rand when nil) on
// first start. The file holds the key in base64 and must be private to
// its owner: a key readable by group or others is refused, not fixed,
// since it may already have leaked.
//
// A new key is written to a temporary file in the same directory, synced,
// then linked into place: a crash leaves either no key or a whole one,
// and of two processes starting at once, one key wins and both use it
// (a rename would let the second silently replace the first's key).
func LoadOrCreateKeyFile(path string, random io.Reader) (key []byte, created bool, err error) {
	if random == nil {
		random = rand.Reader
	}
	key, err = readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key = make([]byte, KeySize)
	if _, err := io.ReadFull(random, key); err != nil {
		return nil, false, fmt.Errorf("secretbox: generate a key for %s: %w", path, err)
	}
	won, err := createExclusive(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
	if err != nil {
		return nil, false, err
	}
	if !won {
		// Another process created it first: use its key, like a restart would.
		key, err = readKeyFile(path)
		return key, false, err
	}
	return key, true, nil
}

// readKeyFile reads and checks a key file; an error that is
// fs.ErrNotExist when absent. A symbolic link is refused: the key's
// privacy is the file's mode, and a link's target is not ours to check.
func readKeyFile(path string) ([]byte, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("secretbox: key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("secretbox: key file %s is not a regular file (%s)", path, info.Mode().Type())
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secretbox: key file %s is open to group or others (mode %04o); run `chmod 600 %s`, and consider the key leaked if others could read it", path, perm, path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secretbox: read key file: %w", err)
	}
	key, err := ParseKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// createExclusive writes data to path with mode 0600 unless path already
// exists (then won is false). The directory must exist.
func createExclusive(path string, data []byte) (won bool, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("secretbox: create key file: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name) // after the link, only the temporary name goes
	// CreateTemp makes 0600 files already; Chmod says so, whatever a
	// future CreateTemp or an odd umask does.
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("secretbox: write key file %s: %w", name, err)
	}
	if err := os.Link(name, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		// Some file systems have no hard links: fall back to a rename,
		// still atomic, losing only the two-processes guarantee.
		if _, serr := os.Lstat(path); serr == nil {
			return false, nil
		}
		if rerr := os.Rename(name, path); rerr != nil {
			return false, fmt.Errorf("secretbox: put key file in place: %w (link: %v)", rerr, err)
		}
	}
	syncDir(filepath.Dir(path))
	return true, nil
}

// syncDir makes the new name durable; best effort, as not every system
// can sync a directory, and the key file itself is already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
