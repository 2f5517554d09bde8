package privacy

// exportSQL builds the customer's data as one JSON document in PostgreSQL,
// so the export is one consistent snapshot. $1 is the customer id; no row
// means no such customer.
const exportSQL = `
SELECT json_build_object(
  'customer', json_build_object('id', c.id, 'email', c.email, 'name', c.name, 'marketing_consent', c.marketing_consent,
                                'unsubscribed_at', c.unsubscribed_at, 'created_at', c.created_at),
  'orders', coalesce((
    SELECT json_agg(json_build_object(
      'number', o.number, 'placed_at', o.placed_at, 'status', o.status, 'currency', o.currency,
      'subtotal_minor', o.subtotal_minor, 'discount_minor', o.discount_minor, 'shipping_minor', o.shipping_minor,
      'tax_minor', o.tax_minor, 'total_minor', o.total_minor, 'refunded_minor', o.refunded_minor,
      'discount_codes', o.discount_codes, 'shipping_address', o.shipping_address, 'referral_code', o.referral_code,
      'items', coalesce((SELECT json_agg(json_build_object('sku', i.sku, 'title', i.title, 'quantity', i.quantity,
                                  'unit_price_minor', i.unit_price_minor) ORDER BY i.line_no)
                         FROM order_items i WHERE i.order_id = o.id), '[]'),
      'shipments', coalesce((SELECT json_agg(json_build_object('carrier', s.carrier, 'tracking_number', s.tracking_number,
                                  'status', s.status, 'shipped_at', s.shipped_at, 'delivered_at', s.delivered_at,
                                  'events', coalesce((SELECT json_agg(json_build_object('status', e.status, 'detail', e.detail,
                                       'location', e.location, 'occurred_at', e.occurred_at) ORDER BY e.occurred_at)
                                     FROM tracking_events e WHERE e.shipment_id = s.id), '[]')) ORDER BY s.id)
                             FROM shipments s WHERE s.order_id = o.id), '[]')
    ) ORDER BY o.placed_at) FROM orders o WHERE o.customer_id = c.id), '[]'),
  'returns', coalesce((
    SELECT json_agg(json_build_object('rma', r.rma, 'status', r.status, 'resolution', r.resolution, 'currency', r.currency,
      'value_minor', r.value_minor, 'created_at', r.created_at,
      'items', coalesce((SELECT json_agg(json_build_object('reason', ri.reason, 'comment', ri.comment, 'quantity', ri.quantity))
                         FROM return_items ri WHERE ri.return_id = r.id), '[]')) ORDER BY r.id)
    FROM return_requests r WHERE r.customer_id = c.id), '[]'),
  'reviews', coalesce((
    SELECT json_agg(json_build_object('sku', v.sku, 'rating', v.rating, 'title', v.title, 'body', v.body,
      'author_name', v.author_name, 'status', v.status, 'created_at', v.created_at) ORDER BY v.id)
    FROM reviews v WHERE v.customer_id = c.id), '[]'),
  'referral_code', (SELECT rc.code FROM referral_codes rc WHERE rc.customer_id = c.id),
  'referrals', coalesce((
    SELECT json_agg(json_build_object('friend_email', f.friend_email, 'status', f.status, 'created_at', f.created_at,
      'converted_at', f.converted_at) ORDER BY f.id)
    FROM referrals f WHERE f.referrer_id = c.id), '[]'),
  'rewards', coalesce((
    SELECT json_agg(json_build_object('kind', w.kind, 'status', w.status, 'reward_type', w.reward_type,
      'percent', w.percent, 'amount_minor', w.amount_minor, 'currency', w.currency, 'promotion_code', w.promotion_code,
      'granted_at', w.granted_at, 'created_at', w.created_at) ORDER BY w.id)
    FROM rewards w WHERE w.customer_id = c.id), '[]'),
  'emails', coalesce((
    SELECT json_agg(json_build_object('kind', m.kind, 'to', m.to_address, 'subject', m.subject, 'status', m.status,
      'created_at', m.created_at, 'sent_at', m.sent_at) ORDER BY m.id)
    FROM messages m WHERE m.customer_id = c.id), '[]')
)::text
FROM customers c WHERE c.id = $1`
