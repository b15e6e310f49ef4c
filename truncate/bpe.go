package truncate

import (
	"container/heap"
	"math"
)

// part is a boundary of the piece being merged: where its part starts and
// the rank of merging it with the next part (noRank when there is none).
type part struct {
	start, rank int
}

const noRank = math.MaxInt

// heapMinPiece is the piece length from which mergeParts keeps its candidate
// pairs in a heap: tiktoken-go's scan for the lowest rank is quadratic, 0.1 s
// for a 16 KB run of spaces, letters or CJK, which one message can hold.
const heapMinPiece = 128

// mergeParts is tiktoken-go's bytePairMerge: repeatedly merge the adjacent
// pair with the lowest rank, the leftmost on ties, until no pair has a rank.
// It returns the final boundaries (one more than the tokens). parts is
// scratch space, reused when large enough.
func mergeParts(ranks map[string]int, piece string, parts []part) []part {
	if len(piece) >= heapMinPiece {
		return mergeHeap(ranks, piece, parts)
	}
	return mergeLinear(ranks, piece, parts)
}

// mergeLinear is tiktoken-go's bytePairMerge step for step.
func mergeLinear(ranks map[string]int, piece string, parts []part) []part {
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

// mergeHeap makes the same merges as mergeLinear in O(n log n): the parts are
// a linked list and the candidate pairs a heap ordered by (rank, start), which
// is the linear scan's choice (lowest rank, leftmost). A pair whose rank was
// recomputed since it was pushed is stale and skipped by its version.
func mergeHeap(ranks map[string]int, piece string, parts []part) []part {
	n := len(piece)
	next := make([]int, n+1) // next[n] is the end sentinel's, unused
	prev := make([]int, n+1)
	ver := make([]int, n+1)
	for i := range next {
		next[i], prev[i] = i+1, i-1
	}
	// rank of merging the part at i with the one after it.
	rank := func(i int) int {
		j := next[i]
		if j >= n {
			return noRank
		}
		if r, ok := ranks[piece[i:next[j]]]; ok {
			return r
		}
		return noRank
	}
	h := make(pairHeap, 0, n)
	for i := 0; i+1 < n; i++ {
		if r := rank(i); r != noRank {
			h = append(h, pair{r, i, 0})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		p := heap.Pop(&h).(pair)
		i := p.start
		if ver[i] != p.ver {
			continue // stale, or i was merged away (its version bumped)
		}
		j := next[i] // merge the part at j into the one at i
		ver[j]++
		next[i] = next[j]
		if next[j] <= n {
			prev[next[j]] = i
		}
		ver[i]++
		if r := rank(i); r != noRank {
			heap.Push(&h, pair{r, i, ver[i]})
		}
		if k := prev[i]; k >= 0 {
			ver[k]++
			if r := rank(k); r != noRank {
				heap.Push(&h, pair{r, k, ver[k]})
			}
		}
	}
	parts = parts[:0]
	for i := 0; i < n; i = next[i] {
		parts = append(parts, part{i, 0})
	}
	return append(parts, part{n, 0})
}

type pair struct{ rank, start, ver int }

type pairHeap []pair

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(a, b int) bool {
	return h[a].rank < h[b].rank || h[a].rank == h[b].rank && h[a].start < h[b].start
}
func (h pairHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pair)) }
func (h *pairHeap) Pop() (x any) { x, *h = (*h)[len(*h)-1], (*h)[:len(*h)-1]; return x }
