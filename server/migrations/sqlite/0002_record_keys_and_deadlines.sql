-- Honest records. The idempotency key gains the step (`run_step`, GitHub's GITHUB_ACTION), the
-- app and the environment, so two matrix legs or two shiplog steps of one job are two deploys.
-- Open deploys get a `deadline` (milliseconds) past which the server marks them abandoned; those
-- already open get one hour from their start.
--
-- SQLite cannot drop a table's UNIQUE constraint, so `deploys` is rebuilt. `heads` refers to it:
-- its rows are set aside while the old table goes and put back once the new one has its name
-- (sqlx runs this in one transaction, with foreign keys enforced). Ids and the AUTOINCREMENT
-- high-water mark are kept.
CREATE TABLE deploys_next (
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
    run_step     TEXT    NOT NULL DEFAULT '',
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    deadline     INTEGER,
    search       TEXT    NOT NULL,
    record       TEXT    NOT NULL,
    revision     INTEGER NOT NULL DEFAULT 0
);

INSERT INTO deploys_next (id, repo, app, environment, namespace, status, actor, run_id,
                          run_attempt, run_job, run_step, started_at, finished_at, deadline,
                          search, record, revision)
SELECT id, repo, app, environment, namespace, status, actor, run_id, run_attempt, run_job, '',
       started_at, finished_at,
       CASE WHEN status = 'in_progress' THEN started_at + 3600000 END,
       search, record, revision
FROM deploys;

CREATE TEMP TABLE heads_aside AS SELECT * FROM heads;
DELETE FROM heads;
CREATE TEMP TABLE sequence_aside AS SELECT seq FROM sqlite_sequence WHERE name = 'deploys';

DROP TABLE deploys;
ALTER TABLE deploys_next RENAME TO deploys;

UPDATE sqlite_sequence
SET seq = (SELECT max(seq) FROM sequence_aside)
WHERE name = 'deploys' AND seq < (SELECT max(seq) FROM sequence_aside);
INSERT INTO heads SELECT * FROM heads_aside;
DROP TABLE heads_aside;
DROP TABLE sequence_aside;

CREATE UNIQUE INDEX deploys_idempotency
    ON deploys (repo, run_id, run_attempt, run_job, run_step, app, environment, namespace);
CREATE INDEX deploys_by_time             ON deploys (started_at, id);
CREATE INDEX deploys_by_namespace        ON deploys (namespace, started_at, id);
CREATE INDEX deploys_by_namespace_status ON deploys (namespace, status, started_at, id);
CREATE INDEX deploys_by_app              ON deploys (app, namespace, started_at, id);
CREATE INDEX deploys_by_status           ON deploys (status, started_at, id);
CREATE INDEX deploys_by_environment      ON deploys (environment, started_at, id);
-- The reaper's question: which open deploys are past their deadline.
CREATE INDEX deploys_open ON deploys (deadline) WHERE status = 'in_progress';
