-- Environment locks (`PUT /api/v1/locks/{environment}[/{app}]`): one per environment and app;
-- `app` is '' for a lock on the whole environment (a unique key needs a value, not NULL).
CREATE TABLE locks (
    environment TEXT   NOT NULL,
    app         TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    locked_by   TEXT   NOT NULL,
    via         TEXT   NOT NULL,
    since       BIGINT NOT NULL,
    PRIMARY KEY (environment, app)
);

-- The audit log of locks: every lock, unlock and override, never updated.
CREATE TABLE lock_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    action      TEXT   NOT NULL,
    environment TEXT   NOT NULL,
    app         TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    locked_by   TEXT   NOT NULL,
    via         TEXT   NOT NULL,
    deploy_id   BIGINT
);
