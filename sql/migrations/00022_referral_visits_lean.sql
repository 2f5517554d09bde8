-- +goose Up
-- Share-link visits are appended thousands a second (referral.visitBuffer);
-- each row paid for four index entries, and EXPLAIN (ANALYZE, WAL) of a
-- 3,000-visit batch on the bench's kept medium cluster (4 million visits)
-- put most of PostgreSQL's time per visit in one of them. Per visit, warm:
-- the heap row ~2 µs; the device index ~3 µs; the code index ~15 µs; the
-- primary key and the time index ~1 µs each. What each of them serves:
--
-- 1. referral_visits_code_id_idx (code_id, 00018) served one statement: the
--    trigger of 00016 deleting a deleted code's visits. Nothing in the
--    product deletes a code (a code goes only with its customer, and the
--    erasure of a customer keeps the row; see internal/privacy), while
--    every visit went to a random leaf of this index (the codes being
--    shared), into posting lists that are rewritten as they fill. Dropped:
--    a code deleted by hand now costs that trigger one scan of the visits
--    per deleting statement.
-- 2. The bigserial id and its primary key: no reader ever looked a visit up
--    by id (as for tracking_views in 00017). Dropping the column drops the
--    key and the sequence: no sequence call and no key entry per visit.
-- 3. referral_visits_created_idx (created_at, 00009) serves the dashboard's
--    count of visits in a window. Visits are written in time order, so a
--    BRIN index (a few pages for the whole table, next to nothing per row)
--    finds a window's pages as well; the btree was ~95 MB of 4 million
--    visits' entries. autosummarize has autovacuum summarize each range of
--    pages once it is full, so a window never scans more than the newest
--    range unsummarized.
--
-- referral_visits_device_idx (device_id, created_at) stays: attribution
-- (firstVisit), the hourly de-duplication of repeated visits and the
-- funnel's distinct devices read by device. New device ids start with the
-- time (referral.newDeviceID), so new visits append to one place of it.
DROP INDEX referral_visits_code_id_idx;
ALTER TABLE referral_visits DROP COLUMN id;
DROP INDEX referral_visits_created_idx;
CREATE INDEX referral_visits_created_brin ON referral_visits USING brin (created_at) WITH (autosummarize = on);

-- +goose Down
DROP INDEX referral_visits_created_brin;
CREATE INDEX referral_visits_created_idx ON referral_visits (created_at);
ALTER TABLE referral_visits ADD COLUMN id bigserial PRIMARY KEY;
CREATE INDEX referral_visits_code_id_idx ON referral_visits (code_id);
