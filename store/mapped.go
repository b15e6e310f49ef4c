package store

import "context"

// ReleaseMapped takes the database pages this process has read out of its
// resident set, and returns how many bytes of mapping it covered. bbolt
// reads through a read-only shared mapping of the file, and every page a
// read touches stays in the process's RSS until the kernel needs the
// memory, so a process that runs for months shows an RSS that follows its
// file rather than its work. Released pages stay in the page cache: the
// next read of one maps it again with a minor fault, and nothing a read
// transaction holds changes (the mapping itself stays; only its page table
// entries go). It waits for the write in progress, because a write that
// grows the file remaps it, and for a compaction. On systems other than
// Linux it does nothing.
func (s *Store) ReleaseMapped(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return releaseMapped(s.path)
}
