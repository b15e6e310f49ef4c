// Package store persists Hearth's objects in one bbolt file behind typed
// methods, each state change one transaction, with time-ordered ids so every
// list is a cursor seek.
//
// Writers share commits (group commit) so concurrent appends scale while each
// acknowledged write is durable; Backup copies the file online, Compact
// gives deleted space back without closing it (CompactFile offline), and
// Open refuses a file another process holds after Options.LockTimeout.
//
// # Drivers
//
// The engine uses a store through Driver and Tx (driver.go), which say
// what every driver promises; *Store, the bbolt file, is the driver this
// package holds (its transaction implements Tx), and what only a bbolt
// file does is in optional interfaces (Compacter, MappedReleaser, Sizer,
// BoltStore, BoltTx) or methods of *Store alone.
//
// # Stability
//
// Applications use Hearth through package engine; store is the layer under
// it and its API is not stable. In particular the escape hatches to bbolt
// (Store.DB, Store.Bolt and Bolt, BoltTx, Wrap), the lending scans
// of the bbolt transaction (ScanMessages, MessageTokens) and the on-disk layout exist for
// Hearth's own packages, benchmarks and migrations: they will change when
// the store gains a second driver (Postgres), and such changes are not
// considered breaking for Hearth's versioning, as river treats its
// riverdriver package. The binary message codec is unexported.
package store
