package storecopy

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/hearth-go/hearth/filesearch"
)

// copyIndex copies a vector store's file search index (its files' chunks
// and vectors), a file at a time; a store never indexed has none.
func copyIndex(ctx context.Context, src, dst filesearch.Storage, vsID string) (int64, error) {
	info, err := src.Store(ctx, vsID)
	if errors.Is(err, filesearch.ErrStoreNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("storecopy: read vector store %s's index: %w", vsID, err)
	}
	var n int64
	var werr error
	_, _, err = src.Load(ctx, vsID, func(f filesearch.FileInfo, texts []string, vecs [][]float32) {
		if werr != nil {
			return
		}
		f.Version = 0
		if _, werr = dst.PutFile(ctx, vsID, info, f, texts, vecs); werr == nil {
			n++
		}
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return n, fmt.Errorf("storecopy: copy vector store %s's index: %w", vsID, err)
	}
	return n, nil
}

// indexDigest is a vector store's index as its identity and a digest of
// each file's record, texts and vectors (files may be visited in any order).
func indexDigest(ctx context.Context, st filesearch.Storage, vsID string) (filesearch.StoreInfo, map[string][32]byte, error) {
	out := map[string][32]byte{}
	info, _, err := st.Load(ctx, vsID, func(f filesearch.FileInfo, texts []string, vecs [][]float32) {
		h := sha256.New()
		fmt.Fprintf(h, "%q %q %d %d %d\n", f.FileID, f.Filename, f.Chunks, f.Tokens, f.Bytes)
		var b [4]byte
		for i, t := range texts {
			fmt.Fprintf(h, "%d %q\n", len(t), t)
			if i < len(vecs) {
				for _, x := range vecs[i] {
					binary.BigEndian.PutUint32(b[:], math.Float32bits(x))
					h.Write(b[:])
				}
			}
		}
		var sum [32]byte
		h.Sum(sum[:0])
		out[f.FileID] = sum
	})
	if errors.Is(err, filesearch.ErrStoreNotFound) {
		return info, nil, nil
	}
	return info, out, err
}

// compareIndex reports whether both stores index a vector store alike.
func compareIndex(ctx context.Context, src, dst filesearch.Storage, vsID string) (int64, error) {
	si, sd, err := indexDigest(ctx, src, vsID)
	if err != nil {
		return 0, fmt.Errorf("storecopy: read vector store %s's index in the source: %w", vsID, err)
	}
	di, dd, err := indexDigest(ctx, dst, vsID)
	if err != nil {
		return 0, fmt.Errorf("storecopy: read vector store %s's index in the destination: %w", vsID, err)
	}
	where := "the file search index of vector store " + vsID
	if sd == nil && dd == nil {
		return 0, nil
	}
	if (sd == nil) != (dd == nil) || si != di {
		return 0, &Mismatch{Where: where, Src: fmt.Sprintf("%+v, %d files", si, len(sd)), Dst: fmt.Sprintf("%+v, %d files", di, len(dd))}
	}
	for id, sum := range sd {
		if got, ok := dd[id]; !ok {
			return 0, &Mismatch{Where: where + " file " + id, Src: "indexed", Dst: "missing"}
		} else if got != sum {
			return 0, &Mismatch{Where: where + " file " + id, Src: fmt.Sprintf("chunks and vectors %x", sum[:8]), Dst: fmt.Sprintf("chunks and vectors %x", got[:8])}
		}
	}
	if len(dd) != len(sd) {
		return 0, &Mismatch{Where: where, Src: fmt.Sprintf("%d files", len(sd)), Dst: fmt.Sprintf("%d files", len(dd))}
	}
	return int64(len(sd)), nil
}
