// Package storetest is the conformance suite of the store seam (issue 23):
// every promise store/driver.go writes down, run against a driver, as
// river's riverdrivertest and dex's storage/conformance run theirs. Each
// driver's tests call Run with a function giving a fresh, empty driver:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t testing.TB) store.Driver { … })
//	}
//
// The suite tests only what driver.go promises, never how the bbolt driver
// happens to do it: where the engine relies on a behaviour driver.go was
// silent on, the promise was written there first.
//
// Migrations are not the suite's: their formats are the drivers' own
// (bbolt's in package store, Postgres' SQL in store/pgstore), so each
// driver's tests cover its migrations.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/store"
)

// Option adds to what Run can test.
type Option func(*config)

type config struct {
	reopen func(t testing.TB, closed store.Driver) store.Driver
}

// WithReopen lets the suite test what must outlast a Close (queued writes
// committed by it, the clean-close mark read at the next open): reopen is
// given a driver open returned, already closed, and returns a driver on
// the same data. Without it those subtests skip.
func WithReopen(reopen func(t testing.TB, closed store.Driver) store.Driver) Option {
	return func(c *config) { c.reopen = reopen }
}

// suite is one subtest's driver and what it needs.
type suite struct {
	t   *testing.T
	d   store.Driver
	gen *store.IDGenerator
	cfg *config
	// now is the created_at the suite gives objects (seconds).
	now int64
}

// Run runs every subtest against drivers open makes: each subtest calls it
// once or more and gets a fresh, empty driver it may Close itself (the
// cleanup open registers must bear a driver already closed; a second
// Close returns nil).
func Run(t *testing.T, open func(t testing.TB) store.Driver, opts ...Option) {
	cfg := &config{}
	for _, o := range opts {
		o(cfg)
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					defer func() {
						if r := recover(); r != nil {
							if m, ok := r.(mustFailed); ok {
								t.Fatalf("read failed: %v", m.err)
							}
							panic(r)
						}
					}()
					c.fn(&suite{t: t, d: open(t), gen: store.NewIDGenerator(nil, nil), cfg: cfg, now: 1_700_000_000})
				})
			}
		})
	}
}

type testCase struct {
	name string
	fn   func(s *suite)
}

type group struct {
	name  string
	cases []testCase
}

// groups is every subtest, by theme; each file of the package adds its own.
var groups = []group{
	{"Entities", entityCases},
	{"Lists", listCases},
	{"Walks", walkCases},
	{"Indexes", indexCases},
	{"Cascades", cascadeCases},
	{"Transactions", txCases},
}

// ---- helpers

func (s *suite) id(prefix string) string { return s.gen.New(prefix) }

// update runs fn in an Update, failing the test on its error.
func (s *suite) update(fn func(tx store.Tx) error) {
	s.t.Helper()
	if err := s.d.Update(context.Background(), fn); err != nil {
		s.t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View, failing the test on its error.
func (s *suite) view(fn func(tx store.Tx) error) {
	s.t.Helper()
	if err := s.d.View(context.Background(), fn); err != nil {
		s.t.Fatalf("View: %v", err)
	}
}

// read is a View returning one value.
func read[T any](s *suite, fn func(tx store.Tx) (T, error)) T {
	s.t.Helper()
	var v T
	s.view(func(tx store.Tx) (err error) {
		v, err = fn(tx)
		return err
	})
	return v
}

// readErr is a View returning fn's error, for the tests of refusals.
func readErr(s *suite, fn func(tx store.Tx) error) error {
	return s.d.View(context.Background(), fn)
}

// jsonOf is v's JSON: records are compared as the API writes them.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return string(b)
}

// sameJSON fails t unless got and want marshal alike.
func sameJSON(t testing.TB, what string, got, want any) {
	t.Helper()
	if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

// wantNotFound fails t unless err is the API's not-found error.
func wantNotFound(t testing.TB, what string, err error) {
	t.Helper()
	var ae *apitype.Error
	if !errors.Is(err, apitype.ErrNotFound) || !errors.As(err, &ae) {
		t.Errorf("%s: err %v, want an *apitype.Error matching apitype.ErrNotFound", what, err)
	}
}

// wantInvalid fails t unless err is the API's invalid-request error naming
// param.
func wantInvalid(t testing.TB, what string, err error, param string) {
	t.Helper()
	var ae *apitype.Error
	if !errors.Is(err, apitype.ErrInvalidRequest) || !errors.As(err, &ae) {
		t.Errorf("%s: err %v, want an *apitype.Error matching apitype.ErrInvalidRequest", what, err)
		return
	}
	if param != "" && ae.Param != param {
		t.Errorf("%s: param %q, want %q (%v)", what, ae.Param, param, err)
	}
}

// errStop is a walk's fn's error, which the walk must return as it is.
var errStop = errors.New("storetest: stop")

func ptr[T any](v T) *T { return &v }

// ids of a page's data, by their id function.
func idsOf[T any](data []T, id func(*T) string) []string {
	out := make([]string, len(data))
	for i := range data {
		out[i] = id(&data[i])
	}
	return out
}

// checkEnds fails t unless a page's FirstID and LastID name the ends of
// ids (nil both when it is empty) and its data is not nil.
func checkEnds[T any](t testing.TB, what string, p apitype.Page[T], ids []string) {
	t.Helper()
	if p.Data == nil {
		t.Errorf("%s: Data is nil, want [] for an empty page", what)
	}
	if p.Object != apitype.ObjectList {
		t.Errorf("%s: object %q", what, p.Object)
	}
	if len(ids) == 0 {
		if p.FirstID != nil || p.LastID != nil {
			t.Errorf("%s: empty page with first_id %v last_id %v", what, p.FirstID, p.LastID)
		}
		return
	}
	if p.FirstID == nil || p.LastID == nil || *p.FirstID != ids[0] || *p.LastID != ids[len(ids)-1] {
		t.Errorf("%s: first_id %v last_id %v, want %s %s", what, deref(p.FirstID), deref(p.LastID), ids[0], ids[len(ids)-1])
	}
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func reversed(ids []string) []string {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}
