package storecopy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Blobs holds the bytes of files (containerID "") and container files,
// which store records describe but do not hold.
type Blobs interface {
	// Open reads the bytes; a missing one is an error matching fs.ErrNotExist.
	Open(ctx context.Context, containerID, id string) (io.ReadCloser, error)
	// Write stores the bytes, whole or not at all, and refuses to replace
	// any (an error matching fs.ErrExist).
	Write(ctx context.Context, containerID, id string, r io.Reader) (int64, error)
}

// Dir is the engine's FilesDir as Blobs: a file's bytes at DIR/ID, a
// container file's at DIR/containers/ID (engine.Config.FilesDir).
type Dir string

func (d Dir) path(containerID, id string) string {
	if containerID != "" {
		return filepath.Join(string(d), "containers", id)
	}
	return filepath.Join(string(d), id)
}

// Open opens the bytes.
func (d Dir) Open(_ context.Context, containerID, id string) (io.ReadCloser, error) {
	return os.Open(d.path(containerID, id))
}

// Write writes the bytes into a temporary file, syncs it and renames it
// into place, then syncs the directory, as the engine writes an upload.
func (d Dir) Write(ctx context.Context, containerID, id string, r io.Reader) (int64, error) {
	dst := d.path(containerID, id)
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	if _, err := os.Lstat(dst); err == nil {
		return 0, fmt.Errorf("%s: %w", dst, fs.ErrExist)
	}
	tmp, err := os.CreateTemp(dir, "upload-*.tmp") // the engine sweeps these at Open
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	n, err := io.Copy(tmp, ctxReader{ctx, r})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err == nil {
		err = syncDir(dir)
	}
	return n, err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func blobName(containerID, id string) string {
	if containerID != "" {
		return fmt.Sprintf("the bytes of container %s's file %s", containerID, id)
	}
	return "the bytes of file " + id
}

func copyBlob(ctx context.Context, src, dst Blobs, containerID, id string) (int64, error) {
	r, err := src.Open(ctx, containerID, id)
	if err != nil {
		return 0, fmt.Errorf("storecopy: read %s: %w", blobName(containerID, id), err)
	}
	defer r.Close()
	n, err := dst.Write(ctx, containerID, id, r)
	if err != nil {
		return n, fmt.Errorf("storecopy: write %s: %w", blobName(containerID, id), err)
	}
	return n, nil
}

// sumBlob is the size and SHA-256 of a blob.
func sumBlob(ctx context.Context, b Blobs, containerID, id string) (int64, [32]byte, error) {
	var sum [32]byte
	r, err := b.Open(ctx, containerID, id)
	if err != nil {
		return 0, sum, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, r})
	h.Sum(sum[:0])
	return n, sum, err
}

// compareBlob reports whether both stores hold the same bytes.
func compareBlob(ctx context.Context, src, dst Blobs, containerID, id string) (int64, error) {
	n1, s1, err := sumBlob(ctx, src, containerID, id)
	if err != nil {
		return 0, fmt.Errorf("storecopy: read %s in the source: %w", blobName(containerID, id), err)
	}
	n2, s2, err := sumBlob(ctx, dst, containerID, id)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, &Mismatch{Where: blobName(containerID, id), Src: fmt.Sprintf("%d bytes", n1), Dst: "missing"}
	} else if err != nil {
		return 0, fmt.Errorf("storecopy: read %s in the destination: %w", blobName(containerID, id), err)
	}
	if n1 != n2 || s1 != s2 {
		return 0, &Mismatch{Where: blobName(containerID, id), Src: fmt.Sprintf("%d bytes, sha256 %x", n1, s1), Dst: fmt.Sprintf("%d bytes, sha256 %x", n2, s2)}
	}
	return n1, nil
}
