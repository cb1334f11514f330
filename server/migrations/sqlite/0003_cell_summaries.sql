-- The environment matrix keeps, per app and namespace, a small summary of the latest deploy and
-- of the latest successful one (`DeploySummary` as JSON), and no longer a row per workload: a
-- record listing many workloads made the matrix grow with the square of what one request sent.
-- The server fills the summaries of the rows carried over when it starts.
CREATE TABLE heads_0003 (
    app         TEXT    NOT NULL,
    namespace   TEXT    NOT NULL,
    latest_id   INTEGER NOT NULL REFERENCES deploys (id),
    latest_at   INTEGER NOT NULL,
    latest      TEXT,
    success_id  INTEGER REFERENCES deploys (id),
    success_at  INTEGER,
    success     TEXT,
    PRIMARY KEY (app, namespace)
);

INSERT INTO heads_0003 (app, namespace, latest_id, latest_at, success_id, success_at)
    SELECT app, namespace, latest_id, latest_at, success_id, success_at FROM heads WHERE workload = '';

DROP TABLE heads;
ALTER TABLE heads_0003 RENAME TO heads;
