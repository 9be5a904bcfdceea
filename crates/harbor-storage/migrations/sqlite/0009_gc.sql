-- Online garbage collection (docs/gc.md): each blob row carries a state and a version,
-- changed only by compare-and-set, so a push and a GC run racing on one digest can
-- always tell whether the other touched it.
--   state 0 = live, 1 = deleting (GC marked it and is removing its bytes),
--         2 = deleted (a tombstone: the bytes are gone; a push may bring them back).
--   version grows by one each time GC marks (0 -> 1) or finishes (1 -> 2) a blob.
--   touched_at = the last upload, mount or HEAD that vouched for the blob; GC's time
--         window is measured from it.
ALTER TABLE blobs ADD COLUMN state SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE blobs ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE blobs ADD COLUMN touched_at BIGINT NOT NULL DEFAULT 0;
UPDATE blobs SET touched_at = created_at;
-- Garbage collection finds and releases the charges of the blobs it takes by digest.
CREATE INDEX project_blobs_by_digest ON project_blobs(digest);

-- (The PostgreSQL twin also moves the remaining digest columns to bytewise collation;
-- SQLite compares TEXT bytewise already.)
