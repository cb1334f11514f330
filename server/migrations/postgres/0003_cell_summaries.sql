-- The environment matrix keeps, per app and namespace, a small summary of the latest deploy and
-- of the latest successful one (`DeploySummary` as JSON), and no longer a row per workload: a
-- record listing many workloads made the matrix grow with the square of what one request sent.
-- The server fills the summaries of the rows carried over when it starts.
CREATE TABLE heads_0003 (
    app         TEXT    NOT NULL,
    namespace   TEXT    NOT NULL,
    latest_id    BIGINT NOT NULL REFERENCES deploys (id),
    latest_at    BIGINT NOT NULL,
    latest      TEXT,
    success_id   BIGINT REFERENCES deploys (id),
    success_at   BIGINT,
    success     TEXT,
    PRIMARY KEY (app, namespace)
);

INSERT INTO heads_0003 (app, namespace, latest_id, latest_at, success_id, success_at)
    SELECT app, namespace, latest_id, latest_at, success_id, success_at FROM heads WHERE workload = '';

DROP TABLE heads;
ALTER TABLE heads_0003 RENAME TO heads;
ALTER TABLE heads RENAME CONSTRAINT heads_0003_pkey TO heads_pkey;
ALTER TABLE heads RENAME CONSTRAINT heads_0003_latest_id_fkey TO heads_latest_id_fkey;
ALTER TABLE heads RENAME CONSTRAINT heads_0003_success_id_fkey TO heads_success_id_fkey;
