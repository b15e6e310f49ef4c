package filesearch

import (
	"math"
	"sort"
)

// BM25 parameters (the usual defaults).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

type posting struct {
	doc int32 // ordinal in keywordIndex.docs, increasing within a list
	tf  uint16
}

// keywordIndex is an in-memory BM25 index. Removed documents are tombstoned
// and skipped; their postings stay until the index is rebuilt.
type keywordIndex struct {
	postings map[string][]posting
	docs     []kwDoc
	live     int
	totalLen int
}

type kwDoc struct {
	id    string
	len   int32
	alive bool
}

func newKeywordIndex() *keywordIndex {
	return &keywordIndex{postings: map[string][]posting{}}
}

func (k *keywordIndex) add(id, text string) int32 {
	ord := int32(len(k.docs))
	terms := Terms(text)
	tf := map[string]int{}
	for _, t := range terms {
		tf[t]++
	}
	for t, n := range tf {
		k.postings[t] = append(k.postings[t], posting{doc: ord, tf: uint16(min(n, math.MaxUint16))})
	}
	k.docs = append(k.docs, kwDoc{id: id, len: int32(len(terms)), alive: true})
	k.live++
	k.totalLen += len(terms)
	return ord
}

func (k *keywordIndex) remove(ord int32) {
	d := &k.docs[ord]
	if !d.alive {
		return
	}
	d.alive = false
	k.live--
	k.totalLen -= int(d.len)
}

func (k *keywordIndex) idf(df int) float64 {
	n := float64(k.live)
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

type preparedQuery struct {
	terms []string
	idfs  []float64
	norm  float64 // score of a document holding each term once at average length
	avg   float64
}

// prepareQuery deduplicates the query's terms and computes their idf.
func (k *keywordIndex) prepareQuery(query string) preparedQuery {
	var q preparedQuery
	if k.live == 0 {
		return q
	}
	seen := map[string]bool{}
	for _, t := range Terms(query) {
		if seen[t] {
			continue
		}
		seen[t] = true
		df := 0
		for _, p := range k.postings[t] {
			if k.docs[p.doc].alive {
				df++
			}
		}
		idf := k.idf(max(df, 1))
		q.terms = append(q.terms, t)
		q.idfs = append(q.idfs, idf)
		q.norm += idf
	}
	q.avg = float64(k.totalLen) / float64(k.live)
	if q.avg == 0 {
		q.avg = 1
	}
	return q
}

func (k *keywordIndex) termScore(tf float64, dl int32, idf, avg float64) float64 {
	return idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*float64(dl)/avg))
}

type kwHit struct {
	ord   int32
	score float64 // normalized to 0–1
}

func (k *keywordIndex) search(query string, n int) []kwHit {
	return k.searchPrepared(k.prepareQuery(query), n)
}

// searchPrepared returns the top n documents by BM25, scores divided by the
// normalizer and capped at 1 so they share the 0–1 scale of cosine scores.
func (k *keywordIndex) searchPrepared(q preparedQuery, n int) []kwHit {
	if k.live == 0 || n <= 0 || q.norm == 0 {
		return nil
	}
	acc := map[int32]float64{}
	for i, t := range q.terms {
		for _, p := range k.postings[t] {
			d := k.docs[p.doc]
			if !d.alive {
				continue
			}
			acc[p.doc] += k.termScore(float64(p.tf), d.len, q.idfs[i], q.avg)
		}
	}
	hits := make([]kwHit, 0, len(acc))
	for ord, s := range acc {
		hits = append(hits, kwHit{ord, min(1, s/q.norm)})
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score > hits[j].score
		}
		return hits[i].ord < hits[j].ord
	})
	if len(hits) > n {
		hits = hits[:n]
	}
	return hits
}

// scorePrepared scores one document (0–1), for hybrid candidates that came
// from the vector side only.
func (k *keywordIndex) scorePrepared(q preparedQuery, ord int32) float64 {
	if q.norm == 0 || int(ord) >= len(k.docs) || !k.docs[ord].alive {
		return 0
	}
	d := k.docs[ord]
	var s float64
	for i, t := range q.terms {
		pl := k.postings[t]
		j := sort.Search(len(pl), func(j int) bool { return pl[j].doc >= ord })
		if j < len(pl) && pl[j].doc == ord {
			s += k.termScore(float64(pl[j].tf), d.len, q.idfs[i], q.avg)
		}
	}
	return min(1, s/q.norm)
}
