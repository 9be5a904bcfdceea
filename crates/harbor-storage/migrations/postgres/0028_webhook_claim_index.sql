-- Claims read only this index: which deliveries of a policy, target and order key are
-- unfinished, when each is due, whether it is leased; not the rows with their payloads
-- (a backlog of many thousands is then a scan of small index entries per claim).
DROP INDEX webhook_deliveries_order;
CREATE INDEX webhook_deliveries_order
    ON webhook_deliveries (policy_id, target, order_key, id, next_attempt_at, lease_until,
        status)
    WHERE status IN ('Pending', 'Running');
