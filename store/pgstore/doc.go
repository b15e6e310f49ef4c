// Package pgstore will be Hearth's Postgres store driver (issue 23): the
// same entities as the bbolt store, in tables shared by every `hearth serve`
// replica. Today it holds the versioned schema and Migrate, which applies it
// once however many replicas start together; the driver that implements the
// store seam on pgx comes next.
package pgstore
