-- +goose Up
-- Share-link visits are written thousands a second in batches spread over
-- all the codes being shared. Their index on (code_id, created_at) put each
-- row at the end of its code's range, in the middle of the index: a full
-- descent and, as the ranges grow, page splits there, for every visit; it
-- cost more PostgreSQL time than the other three indexes and the row
-- together (17-40 µs of 30-60 µs per visit, measured on a copy of the
-- bench's table). Nothing reads visits by code and time: attribution and the
-- hourly de-duplication look them up by device (referral_visits_device_idx),
-- the dashboard by time (referral_visits_created_idx). What needs the code
-- is the deletion of a code's visits with the code (the trigger of 00016),
-- which an index on code_id alone serves as well; its equal keys are kept
-- as deduplicated posting lists, so it is a fraction of the size and about
-- half the cost per insert.
CREATE INDEX referral_visits_code_id_idx ON referral_visits (code_id);
DROP INDEX referral_visits_code_idx;

-- +goose Down
CREATE INDEX referral_visits_code_idx ON referral_visits (code_id, created_at);
DROP INDEX referral_visits_code_id_idx;
