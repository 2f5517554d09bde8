-- +goose Up
-- The dashboard reads every KPI by a time window; these indexes let each
-- window scan only its own rows, so a period stays fast at a million orders.
-- Partial where the dashboard only ever counts some rows.
CREATE INDEX orders_placed_idx ON orders (placed_at) WHERE status <> 'cancelled';
CREATE INDEX messages_created_idx ON messages (created_at);
CREATE INDEX return_requests_created_idx ON return_requests (created_at);
CREATE INDEX reviews_created_idx ON reviews (created_at);
CREATE INDEX referral_codes_created_idx ON referral_codes (created_at);
CREATE INDEX referral_visits_created_idx ON referral_visits (created_at);
CREATE INDEX referrals_created_idx ON referrals (created_at);
CREATE INDEX referrals_converted_idx ON referrals (converted_at) WHERE converted_at IS NOT NULL;
CREATE INDEX rewards_granted_idx ON rewards (granted_at) WHERE kind = 'referral' AND granted_at IS NOT NULL;

-- +goose Down
DROP INDEX rewards_granted_idx, referrals_converted_idx, referrals_created_idx, referral_visits_created_idx,
    referral_codes_created_idx, reviews_created_idx, return_requests_created_idx, messages_created_idx, orders_placed_idx;
