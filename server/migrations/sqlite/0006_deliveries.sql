-- The outbox of outgoing webhooks: one row per webhook and deploy event, inserted in the
-- transaction of the deploy write that caused it, sent by one server process at a time
-- (`claimed_until`), retried with back-off. `payload` is the exact body sent, so every
-- attempt sends the same bytes. Deleted with its deploy. Times are milliseconds since the
-- Unix epoch.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    deploy_id       INTEGER NOT NULL REFERENCES deploys (id) ON DELETE CASCADE,
    webhook         TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);

-- The worker's claim (a webhook's pending rows that are due) and the bound on each webhook's
-- pending rows.
CREATE INDEX deliveries_due        ON deliveries (webhook, state, next_attempt_at);
-- The deletion of a deploy (retention) and the API's `?deploy=`.
CREATE INDEX deliveries_by_deploy  ON deliveries (deploy_id, id);
-- The API's `?webhook=`, newest first.
CREATE INDEX deliveries_by_webhook ON deliveries (webhook, id);
