-- Hearth's Postgres schema, version 1: the bbolt store's entities, a table
-- each. Ids are the store's time-ordered ids compared byte by byte (COLLATE
-- "C"), so a page is a keyset seek on an index as it is a cursor seek in
-- bbolt. A record is the JSON the bbolt store keeps, as text (json, not
-- jsonb: its bytes come back as written); the columns beside it are what
-- queries select, order or constrain on.

CREATE TABLE assistants (
	id         text COLLATE "C" PRIMARY KEY,
	created_at bigint NOT NULL,
	record     json   NOT NULL
);

CREATE TABLE threads (
	id            text COLLATE "C" PRIMARY KEY,
	created_at    bigint NOT NULL,
	message_count bigint NOT NULL DEFAULT 0,
	record        json   NOT NULL
);

-- tokens is the exact count truncation fits by, stored at insert as bbolt
-- stores it; run_id lists a run's messages.
CREATE TABLE messages (
	thread_id text COLLATE "C" NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	id        text COLLATE "C" NOT NULL,
	run_id    text COLLATE "C",
	tokens    integer NOT NULL,
	record    json    NOT NULL,
	PRIMARY KEY (thread_id, id)
);
CREATE INDEX messages_of_run ON messages (thread_id, run_id, id) WHERE run_id IS NOT NULL;

CREATE TABLE runs (
	id         text COLLATE "C" PRIMARY KEY,
	thread_id  text COLLATE "C" NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	status     text   NOT NULL,
	expires_at bigint,
	record     json   NOT NULL
);
CREATE INDEX runs_of_thread ON runs (thread_id, id);
-- The API's rule, one active run per thread, as a constraint: two replicas
-- creating runs on one thread at once cannot both commit.
CREATE UNIQUE INDEX one_active_run_per_thread ON runs (thread_id)
	WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');
-- The expiry sweep and crash recovery read only the live runs.
CREATE INDEX live_runs ON runs (expires_at)
	WHERE status NOT IN ('completed', 'failed', 'cancelled', 'expired', 'incomplete');
-- LiveRuns walks them in id order.
CREATE INDEX live_run_ids ON runs (id)
	WHERE status NOT IN ('completed', 'failed', 'cancelled', 'expired', 'incomplete');

-- How many times a restart (or rescue) resumed a run or a background
-- response, by its id (CountResume); gone when it ends.
CREATE TABLE resumes (
	id text COLLATE "C" PRIMARY KEY,
	n  integer NOT NULL
);

-- What the store keeps about itself: 'clean_close' (MarkCleanClose).
CREATE TABLE store_meta (
	key   text PRIMARY KEY,
	value text NOT NULL
);

CREATE TABLE run_steps (
	run_id text COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	id     text COLLATE "C" NOT NULL,
	record json NOT NULL,
	PRIMARY KEY (run_id, id)
);

-- Every event of a live run or response, numbered as streams number them:
-- a stream opened on any replica reads what it missed here and is woken by
-- NOTIFY for the rest (store/pgstore/pgevents). at and final are for the
-- retention sweep: an owner's events go some time after the one that ended
-- its stream (final), or after a long silence.
CREATE TABLE stream_events (
	owner_id text COLLATE "C" NOT NULL,
	seq      bigint NOT NULL,
	name     text   NOT NULL,
	data     json   NOT NULL,
	at       timestamptz NOT NULL DEFAULT now(),
	final    boolean NOT NULL DEFAULT false,
	PRIMARY KEY (owner_id, seq)
);
CREATE INDEX stream_events_final ON stream_events (at) WHERE final;

-- File bytes live in file_chunks, a MiB a row (chunk 0 always, empty for an
-- empty file), so any replica serves and mounts them (store/pgfiles). They
-- commit before the record, in a COPY of their own: an upload streams from
-- a client for as long as it takes, which must not hold the record's
-- transaction open (its locks, and a retry that cannot read the stream
-- again). So there is no foreign key: a trigger deletes the bytes with
-- their record, in its transaction (a Put must update a file in place,
-- never delete and insert it), and the sweep removes bytes a crash left
-- without a record once they are older than the time a record takes to
-- follow them (written_at). Stored uncompressed (EXTERNAL): uploads are
-- mostly compressed already, and pglz would cost every write and read.
-- thread_id is the thread a code interpreter output file counts against.
CREATE TABLE files (
	id        text COLLATE "C" PRIMARY KEY,
	purpose   text   NOT NULL,
	bytes     bigint NOT NULL,
	thread_id text COLLATE "C",
	record    json   NOT NULL
);
CREATE INDEX files_of_purpose ON files (purpose, id);
CREATE INDEX output_files ON files (thread_id) WHERE thread_id IS NOT NULL;
CREATE TABLE file_chunks (
	file_id    text COLLATE "C" NOT NULL,
	n          integer     NOT NULL,
	written_at timestamptz NOT NULL DEFAULT now(),
	data       bytea       NOT NULL,
	PRIMARY KEY (file_id, n)
);
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE FUNCTION delete_file_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM file_chunks WHERE file_id = OLD.id;
	RETURN NULL;
END $$;
CREATE TRIGGER file_bytes AFTER DELETE ON files FOR EACH ROW EXECUTE FUNCTION delete_file_chunks();

CREATE TABLE vector_stores (
	id         text COLLATE "C" PRIMARY KEY,
	expires_at bigint,
	record     json NOT NULL
);
-- attributes are also a jsonb column, for filters pushed down to SQL.
CREATE TABLE vector_store_files (
	vector_store_id text COLLATE "C" NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
	file_id         text COLLATE "C" NOT NULL,
	status          text  NOT NULL,
	attributes      jsonb NOT NULL DEFAULT '{}',
	record          json  NOT NULL,
	PRIMARY KEY (vector_store_id, file_id)
);
CREATE INDEX vector_store_files_of_file ON vector_store_files (file_id);
CREATE INDEX vector_store_files_by_status ON vector_store_files (vector_store_id, status, file_id);
CREATE TABLE vector_store_file_batches (
	vector_store_id text COLLATE "C" NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
	id              text COLLATE "C" NOT NULL,
	record          json NOT NULL,
	PRIMARY KEY (vector_store_id, id)
);
-- A batch's files, kept when a file is detached (as bbolt keeps them): the
-- batch lists those still attached.
CREATE TABLE vector_store_batch_files (
	vector_store_id text COLLATE "C" NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
	batch_id        text COLLATE "C" NOT NULL,
	file_id         text COLLATE "C" NOT NULL,
	PRIMARY KEY (vector_store_id, batch_id, file_id)
);
CREATE INDEX vector_store_batches_of_file ON vector_store_batch_files (vector_store_id, file_id);
-- The file search index (store/pgfiles.Index): each replica builds its
-- in-memory index of a store from its chunks and vectors, and before each
-- search compares the store's version with the one it built from, loading
-- the files whose version changed and dropping those gone. A write to a
-- store bumps its version in the transaction that writes its chunks, so
-- the row lock orders a store's writes and a version seen names committed
-- files only. The index is its own, as in bbolt (the engine removes from
-- it after the commit that detaches a file): no foreign key to the
-- records, so it works whatever the store.
CREATE TABLE search_stores (
	vector_store_id text COLLATE "C" PRIMARY KEY,
	embedder        text   NOT NULL,
	dim             integer NOT NULL,
	version         bigint NOT NULL
);
CREATE TABLE search_files (
	vector_store_id text COLLATE "C" NOT NULL REFERENCES search_stores ON DELETE CASCADE,
	file_id         text COLLATE "C" NOT NULL,
	filename        text    NOT NULL,
	chunks          integer NOT NULL,
	tokens          integer NOT NULL,
	bytes           bigint  NOT NULL,
	version         bigint  NOT NULL,
	PRIMARY KEY (vector_store_id, file_id)
);
CREATE TABLE search_chunks (
	vector_store_id text COLLATE "C" NOT NULL,
	file_id         text COLLATE "C" NOT NULL,
	n               integer NOT NULL,
	text            text    NOT NULL,
	embedding       real[]  NOT NULL,
	PRIMARY KEY (vector_store_id, file_id, n),
	FOREIGN KEY (vector_store_id, file_id) REFERENCES search_files ON DELETE CASCADE
);

-- A response's record without its output; its items in response_items.
-- previous_response_id has no foreign key: deleting a response ends the
-- chains through it, as in bbolt.
CREATE TABLE responses (
	id                   text COLLATE "C" PRIMARY KEY,
	previous_response_id text COLLATE "C",
	conversation_id      text COLLATE "C",
	status               text    NOT NULL,
	background           boolean NOT NULL,
	record               json    NOT NULL
);
CREATE INDEX live_responses ON responses (id) WHERE status IN ('queued', 'in_progress');
-- item_id is NULL for an input item without an id, and not unique: an
-- input may name one item twice (a cursor names its last position).
CREATE TABLE response_items (
	response_id text COLLATE "C" NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
	output      boolean NOT NULL, -- false: an input item, true: an output item
	pos         integer NOT NULL,
	item_id     text COLLATE "C",
	tokens      integer NOT NULL,
	record      json    NOT NULL,
	PRIMARY KEY (response_id, output, pos)
);
CREATE INDEX response_items_by_id ON response_items (response_id, output, item_id);

CREATE TABLE conversations (
	id         text COLLATE "C" PRIMARY KEY,
	created_at bigint NOT NULL,
	item_count bigint NOT NULL DEFAULT 0,
	next_pos   bigint NOT NULL DEFAULT 1,
	record     json   NOT NULL
);
-- A deleted item keeps its row, record NULL: a cursor naming it still
-- pages from its position.
CREATE TABLE conversation_items (
	conversation_id text COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	pos             bigint  NOT NULL,
	item_id         text COLLATE "C" NOT NULL,
	tokens          integer NOT NULL,
	record          json,
	PRIMARY KEY (conversation_id, pos),
	UNIQUE (conversation_id, item_id)
);

CREATE TABLE containers (
	id              text COLLATE "C" PRIMARY KEY,
	status          text    NOT NULL,
	last_active_at  bigint  NOT NULL,
	expires_minutes integer NOT NULL,
	record          json    NOT NULL
);
CREATE INDEX container_expiry ON containers ((last_active_at + 60 * expires_minutes::bigint)) WHERE status = 'active';
CREATE TABLE container_files (
	container_id text COLLATE "C" NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
	id           text COLLATE "C" NOT NULL,
	path         text   NOT NULL,
	bytes        bigint NOT NULL,
	record       json   NOT NULL,
	PRIMARY KEY (container_id, id)
);
-- Not unique: the store lets two records name one path (the engine
-- replaces a file by deleting the old record).
CREATE INDEX container_files_by_path ON container_files (container_id, path);
-- A container file's bytes, as file_chunks (container file ids are
-- unique on their own); the trigger also fires for the container files a
-- deleted container cascades to.
CREATE TABLE container_file_chunks (
	file_id    text COLLATE "C" NOT NULL,
	n          integer     NOT NULL,
	written_at timestamptz NOT NULL DEFAULT now(),
	data       bytea       NOT NULL,
	PRIMARY KEY (file_id, n)
);
ALTER TABLE container_file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE FUNCTION delete_container_file_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM container_file_chunks WHERE file_id = OLD.id;
	RETURN NULL;
END $$;
CREATE TRIGGER container_file_bytes AFTER DELETE ON container_files FOR EACH ROW EXECUTE FUNCTION delete_container_file_chunks();
