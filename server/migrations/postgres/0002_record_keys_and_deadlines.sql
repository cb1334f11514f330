-- Honest records. The idempotency key gains the step (`run_step`, GitHub's GITHUB_ACTION), the
-- app and the environment, so two matrix legs or two shiplog steps of one job are two deploys.
-- Open deploys get a `deadline` (milliseconds) past which the server marks them abandoned; those
-- already open get one hour from their start.
ALTER TABLE deploys ADD COLUMN run_step TEXT NOT NULL DEFAULT '';
ALTER TABLE deploys ADD COLUMN deadline BIGINT;
UPDATE deploys SET deadline = started_at + 3600000 WHERE status = 'in_progress';

-- The constraint 0001 declared, under the name PostgreSQL gave it.
ALTER TABLE deploys DROP CONSTRAINT deploys_repo_run_id_run_attempt_run_job_namespace_key;
CREATE UNIQUE INDEX deploys_idempotency
    ON deploys (repo, run_id, run_attempt, run_job, run_step, app, environment, namespace);

-- The reaper's question: which open deploys are past their deadline.
CREATE INDEX deploys_open ON deploys (deadline) WHERE status = 'in_progress';
