package wasi

import (
	"fmt"
	"io"
	"io/fs"
	"sync"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// quota bounds what the guest can write under /mnt/data: WASI has no quota of
// its own, so writes pass through quotaFS, which refuses growth past the
// limits (EPERM in the guest) and remembers why so the exec can say so.
type quota struct {
	maxFile, maxTotal int64
	maxFiles          int

	mu    sync.Mutex
	used  int64
	files int
	hit   string // why the last refusal happened; reset per exec
}

func (q *quota) refuse(why string) experimentalsys.Errno {
	q.hit = why
	return experimentalsys.EPERM
}

// takeHit returns and clears the last refusal message.
func (q *quota) takeHit() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	h := q.hit
	q.hit = ""
	return h
}

// reset sets usage from a scan of the directory (done after each exec, so
// drift from concurrent opens of one file never accumulates).
func (q *quota) reset(used int64, files int) {
	q.mu.Lock()
	q.used, q.files = used, files
	q.mu.Unlock()
}

// grow accounts for a file growing from size to end bytes.
func (q *quota) grow(size, end int64) experimentalsys.Errno {
	q.mu.Lock()
	defer q.mu.Unlock()
	if end > q.maxFile {
		return q.refuse("a file in /mnt/data would exceed the per-file limit of " + byteCount(q.maxFile))
	}
	if d := end - size; d > 0 {
		if q.used+d > q.maxTotal {
			return q.refuse("/mnt/data would exceed its total limit of " + byteCount(q.maxTotal))
		}
		q.used += d
	}
	return 0
}

type quotaFS struct {
	experimentalsys.FS
	q *quota
}

func (f *quotaFS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	st, serr := f.FS.Stat(path)
	existed := serr == 0
	if !existed && flag&experimentalsys.O_CREAT != 0 {
		f.q.mu.Lock()
		if f.q.files >= f.q.maxFiles {
			errno := f.q.refuse("/mnt/data holds the maximum number of files")
			f.q.mu.Unlock()
			return nil, errno
		}
		f.q.mu.Unlock()
	}
	file, errno := f.FS.OpenFile(path, flag, perm)
	if errno != 0 {
		return nil, errno
	}
	var size int64
	if existed {
		size = st.Size
	}
	f.q.mu.Lock()
	if !existed && flag&experimentalsys.O_CREAT != 0 {
		f.q.files++
	}
	if existed && flag&experimentalsys.O_TRUNC != 0 && !st.Mode.IsDir() {
		f.q.used -= size
		size = 0
	}
	f.q.mu.Unlock()
	return &quotaFile{File: file, q: f.q, size: size}, 0
}

func (f *quotaFS) Mkdir(path string, perm fs.FileMode) experimentalsys.Errno {
	f.q.mu.Lock()
	if f.q.files >= f.q.maxFiles {
		errno := f.q.refuse("/mnt/data holds the maximum number of files")
		f.q.mu.Unlock()
		return errno
	}
	f.q.files++
	f.q.mu.Unlock()
	return f.FS.Mkdir(path, perm)
}

func (f *quotaFS) Unlink(path string) experimentalsys.Errno {
	st, serr := f.FS.Lstat(path)
	errno := f.FS.Unlink(path)
	if errno == 0 && serr == 0 {
		f.q.mu.Lock()
		f.q.used -= st.Size
		f.q.files--
		f.q.mu.Unlock()
	}
	return errno
}

func (f *quotaFS) Rmdir(path string) experimentalsys.Errno {
	errno := f.FS.Rmdir(path)
	if errno == 0 {
		f.q.mu.Lock()
		f.q.files--
		f.q.mu.Unlock()
	}
	return errno
}

// Links could make one file count twice against nothing: refuse them.
func (f *quotaFS) Link(string, string) experimentalsys.Errno    { return experimentalsys.EPERM }
func (f *quotaFS) Symlink(string, string) experimentalsys.Errno { return experimentalsys.EPERM }

type quotaFile struct {
	experimentalsys.File
	q    *quota
	size int64 // this handle's view of the file size
}

func (f *quotaFile) Write(buf []byte) (int, experimentalsys.Errno) {
	var pos int64
	if f.IsAppend() {
		pos = f.size
	} else {
		p, errno := f.File.Seek(0, io.SeekCurrent)
		if errno != 0 {
			return 0, errno
		}
		pos = p
	}
	return f.writeAt(buf, pos, func() (int, experimentalsys.Errno) { return f.File.Write(buf) })
}

func (f *quotaFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	return f.writeAt(buf, off, func() (int, experimentalsys.Errno) { return f.File.Pwrite(buf, off) })
}

func (f *quotaFile) writeAt(buf []byte, pos int64, write func() (int, experimentalsys.Errno)) (int, experimentalsys.Errno) {
	end := pos + int64(len(buf))
	if end > f.size {
		if errno := f.q.grow(f.size, end); errno != 0 {
			return 0, errno
		}
		f.size = end
	}
	return write()
}

func (f *quotaFile) Truncate(size int64) experimentalsys.Errno {
	if size > f.size {
		if errno := f.q.grow(f.size, size); errno != 0 {
			return errno
		}
	} else {
		f.q.mu.Lock()
		f.q.used -= f.size - size
		f.q.mu.Unlock()
	}
	f.size = size
	return f.File.Truncate(size)
}

func byteCount(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// readOnlyFS answers writes to the interpreter's prefix with EROFS ("Read-only
// file system"), which tells a model more than the ENOSYS wazero's ReadFS gives
// for opens with write flags.
type readOnlyFS struct {
	experimentalsys.FS
}

func (f readOnlyFS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	const write = experimentalsys.O_WRONLY | experimentalsys.O_RDWR | experimentalsys.O_CREAT | experimentalsys.O_TRUNC | experimentalsys.O_APPEND
	if flag&write != 0 {
		return nil, experimentalsys.EROFS
	}
	return f.FS.OpenFile(path, flag, perm)
}
