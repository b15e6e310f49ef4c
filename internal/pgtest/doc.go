// Package pgtest gives each test a fresh database of its own on the Postgres
// cluster that scripts/postgres.sh starts and names in HEARTH_TEST_POSTGRES_DSN.
// Without that variable the tests skip, unless HEARTH_REQUIRE_POSTGRES=1 (as in
// CI), where they fail so that a missing database cannot pass silently.
package pgtest
