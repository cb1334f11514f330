-- What each deploy applied, kept beside its record: the `AppliedManifests` JSON, gzip-compressed
-- (`body`), and its digest. Deleted with its deploy.
CREATE TABLE manifests (
    deploy_id  BIGINT PRIMARY KEY REFERENCES deploys (id) ON DELETE CASCADE,
    digest     TEXT   NOT NULL,
    bytes      BIGINT NOT NULL,
    body       BYTEA  NOT NULL
);
