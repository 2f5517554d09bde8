package journey

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// builtins registers the handlers of this package's step kinds.
func (e *Engine) builtins() {
	e.Handle(KindReplenish, e.replenish)
	e.Handle(KindRecommend, e.recommend)
	e.Handle(KindWinback, e.winback)
}

// replenish reminds the customer to re-order a product that runs out,
// unless they bought it again since.
func (e *Engine) replenish(ctx context.Context, tx *sqlx.Tx, st Step) (Outcome, error) {
	set, err := LoadSettings(ctx, tx)
	if err != nil {
		return Outcome{}, err
	}
	if !set.ReplenishEnabled {
		return Skipped("replenishment reminders are turned off"), nil
	}
	if why, err := e.Settled(ctx, tx, st); why != "" || err != nil {
		return Skipped(why), err
	}
	var again bool
	err = tx.GetContext(ctx, &again, `SELECT EXISTS (
		SELECT 1 FROM order_items i JOIN orders o ON o.id = i.order_id
		WHERE o.customer_id = $1 AND i.sku = (SELECT sku FROM order_items WHERE id = $2)
		  AND o.status <> 'cancelled' AND o.placed_at > (SELECT placed_at FROM orders WHERE id = $3))`,
		st.CustomerID, st.OrderItemID, st.OrderID)
	if err != nil {
		return Outcome{}, fmt.Errorf("journey: bought again: %w", err)
	}
	if again {
		return Skipped("the customer bought it again"), nil
	}
	return e.QueueMail(ctx, tx, st, KindReplenish)
}

// recommend sends products that go with the order, when there are any the
// customer does not have yet.
func (e *Engine) recommend(ctx context.Context, tx *sqlx.Tx, st Step) (Outcome, error) {
	set, err := LoadSettings(ctx, tx)
	if err != nil {
		return Outcome{}, err
	}
	if !set.RecommendEnabled {
		return Skipped("recommendations are turned off"), nil
	}
	if why, err := e.Settled(ctx, tx, st); why != "" || err != nil {
		return Skipped(why), err
	}
	recs, err := Recommend(ctx, tx, st.CustomerID, st.OrderID, set.AlsoBoughtMinOrders, maxRecommendations)
	if err != nil {
		return Outcome{}, err
	}
	if len(recs) == 0 {
		return Skipped("nothing to recommend"), nil
	}
	return e.QueueMail(ctx, tx, st, KindRecommend)
}

// winback sends a personal promotion code to a customer who has not
// ordered since this step's order.
func (e *Engine) winback(ctx context.Context, tx *sqlx.Tx, st Step) (Outcome, error) {
	set, err := LoadSettings(ctx, tx)
	if err != nil {
		return Outcome{}, err
	}
	if !set.WinbackEnabled {
		return Skipped("win-back offers are turned off"), nil
	}
	if why, err := e.Reachable(ctx, tx, st.CustomerID); why != "" || err != nil {
		return Skipped(why), err
	}
	var again bool
	err = tx.GetContext(ctx, &again, `SELECT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = $1 AND o.id <> $2
		AND o.placed_at >= (SELECT placed_at FROM orders WHERE id = $2))`, st.CustomerID, st.OrderID)
	if err != nil {
		return Outcome{}, fmt.Errorf("journey: ordered again: %w", err)
	}
	if again {
		return Skipped("the customer ordered again"), nil
	}
	if e.stripe == nil {
		return Skipped("Stripe is not configured, so there is no code to offer"), nil
	}
	if err := e.createOffer(ctx, tx, st, set); err != nil {
		return Outcome{}, err
	}
	return e.QueueMail(ctx, tx, st, KindWinback)
}
