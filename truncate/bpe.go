package truncate

import "math"

// part is a boundary of the piece being merged: where its part starts and
// the rank of merging it with the next part (noRank when there is none).
type part struct {
	start, rank int
}

const noRank = math.MaxInt

// mergeParts is tiktoken-go's bytePairMerge, step for step: repeatedly merge
// the adjacent pair with the lowest rank, the leftmost on ties, until no pair
// has a rank. It returns the final boundaries (one more than the tokens).
// parts is scratch space, reused when large enough.
func mergeParts(ranks map[string]int, piece string, parts []part) []part {
	parts = parts[:0]
	for i := 0; i <= len(piece); i++ {
		parts = append(parts, part{i, noRank})
	}
	// rank of the bytes from parts[i] to parts[i+skip+2], or noRank.
	rank := func(i, skip int) int {
		if i+skip+2 < len(parts) {
			if r, ok := ranks[piece[parts[i].start:parts[i+skip+2].start]]; ok {
				return r
			}
		}
		return noRank
	}
	for i := 0; i < len(parts)-2; i++ {
		parts[i].rank = rank(i, 0)
	}
	for len(parts) > 1 {
		minRank, i := noRank, -1
		for k := 0; k < len(parts)-1; k++ {
			if parts[k].rank < minRank {
				minRank, i = parts[k].rank, k
			}
		}
		if minRank == noRank {
			break
		}
		parts[i].rank = rank(i, 1)
		if i > 0 {
			parts[i-1].rank = rank(i-1, 1)
		}
		parts = append(parts[:i+1], parts[i+2:]...)
	}
	return parts
}
