// Package store persists Hearth's objects in one bbolt file behind typed
// methods, each state change one transaction, with time-ordered ids so every
// list is a cursor seek.
//
// Writers share commits (group commit) so concurrent appends scale while each
// acknowledged write is durable; Backup copies the file online, Compact
// gives deleted space back without closing it (CompactFile offline), and
// Open refuses a file another process holds after Options.LockTimeout.
package store
