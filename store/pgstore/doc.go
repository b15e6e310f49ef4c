// Package pgstore is Hearth's Postgres store driver (issue 23): the same
// entities as the bbolt store, in tables every `hearth serve` replica
// shares, behind the store seam (store.Driver, store.Tx).
//
// Records are the JSON the bbolt store keeps (json columns keep the bytes
// as written); the columns beside them are what lists seek on, and every
// list is a keyset query on an index (ids compare byte by byte, COLLATE
// "C"), as it is a cursor seek in bbolt.
//
// Writes (Update, Submit) go through one committer per Store: it takes
// what is queued and runs it in one SERIALIZABLE transaction, each write
// in a savepoint of its own (a failing write is rolled back alone), and
// runs the whole group again on a serialisation failure or deadlock.
// Views are REPEATABLE READ READ ONLY transactions on the pool. Round
// trips are what a write costs on Postgres, so statements travel
// together: a transaction's BEGIN and each write's SAVEPOINT and RELEASE
// go in the pipeline of the next statement, a method that reads a parent
// and a page sends both at once, and most methods are one statement.
//
// Open applies the versioned, embedded schema (Migrate; migrations/) under
// an advisory lock, so replicas starting together apply each version once.
package pgstore
