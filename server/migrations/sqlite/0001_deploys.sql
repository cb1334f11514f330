-- Deploy history. `record` holds the whole deploy as JSON; the other columns are copies of the
-- fields the API filters and sorts on. Times are milliseconds since the Unix epoch.
CREATE TABLE deploys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    repo         TEXT    NOT NULL,
    app          TEXT    NOT NULL,
    environment  TEXT    NOT NULL,
    namespace    TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    run_id       INTEGER NOT NULL,
    run_attempt  INTEGER NOT NULL,
    run_job      TEXT    NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    search       TEXT    NOT NULL,
    record       TEXT    NOT NULL,
    revision     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (repo, run_id, run_attempt, run_job, namespace)
);

CREATE INDEX deploys_by_time             ON deploys (started_at, id);
CREATE INDEX deploys_by_namespace        ON deploys (namespace, started_at, id);
CREATE INDEX deploys_by_namespace_status ON deploys (namespace, status, started_at, id);
CREATE INDEX deploys_by_app              ON deploys (app, namespace, started_at, id);
CREATE INDEX deploys_by_status           ON deploys (status, started_at, id);
CREATE INDEX deploys_by_environment      ON deploys (environment, started_at, id);

-- The environment matrix: per app (workload = '') and per workload, per namespace, the latest
-- deploy and the latest successful one. Maintained in the same transaction as every write.
CREATE TABLE heads (
    app         TEXT    NOT NULL,
    workload    TEXT    NOT NULL,
    namespace   TEXT    NOT NULL,
    latest_id   INTEGER NOT NULL REFERENCES deploys (id),
    latest_at   INTEGER NOT NULL,
    success_id  INTEGER REFERENCES deploys (id),
    success_at  INTEGER,
    PRIMARY KEY (app, workload, namespace)
);
