//! The objects each deploy applied ([`AppliedManifests`]), kept once per deploy beside its
//! record as gzip-compressed JSON, and deleted with it (`ON DELETE CASCADE`).

use std::io::{Read as _, Write as _};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use shiplog_model::{AppliedManifests, DeployId};
use sqlx::Row as _;

use super::{Store, StoreError};

/// Most bytes a stored set may inflate to: a validated set is well under it (512 KiB of YAML,
/// JSON-escaped), so a damaged or hostile row cannot make a read hold more.
const MAX_INFLATED: u64 = 4 * 1024 * 1024;

/// What keeping a set did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Stored now.
    New,
    /// The same set (same digest) was already stored.
    Same,
    /// Another set is stored for this deploy: its digest. Nothing was changed.
    Different(String),
}

impl Store {
    /// Keeps `set` as what deploy `id` applied; a deploy keeps one set, ever.
    pub async fn keep_manifests(
        &self,
        id: DeployId,
        set: &AppliedManifests,
    ) -> Result<Kept, StoreError> {
        set.validate()?;
        let json = serde_json::to_vec(set)?;
        let mut gzip = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::default());
        gzip.write_all(&json)?;
        let body = gzip.finish()?;
        let mut tx = self.writes.begin().await?;
        sqlx::query("SELECT id FROM deploys WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let inserted = sqlx::query(
            "INSERT INTO manifests (deploy_id, digest, bytes, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (deploy_id) DO NOTHING",
        )
        .bind(id.0)
        .bind(&set.digest)
        .bind(json.len() as i64)
        .bind(body)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let kept = if inserted == 1 {
            Kept::New
        } else {
            let row = sqlx::query("SELECT digest FROM manifests WHERE deploy_id = $1")
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await?;
            let stored: String = row.try_get("digest")?;
            if stored == set.digest {
                Kept::Same
            } else {
                Kept::Different(stored)
            }
        };
        tx.commit().await?;
        Ok(kept)
    }

    /// What deploy `id` applied, if it was kept; [`StoreError::NotFound`] for an unknown deploy.
    pub async fn manifests(&self, id: DeployId) -> Result<Option<AppliedManifests>, StoreError> {
        let row = sqlx::query(
            "SELECT d.id, m.body FROM deploys d LEFT JOIN manifests m ON m.deploy_id = d.id \
             WHERE d.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.reads)
        .await?
        .ok_or(StoreError::NotFound)?;
        let Some(body) = row.try_get::<Option<Vec<u8>>, _>("body")? else {
            return Ok(None);
        };
        let mut json = Vec::new();
        GzDecoder::new(body.as_slice())
            .take(MAX_INFLATED)
            .read_to_end(&mut json)?;
        Ok(Some(serde_json::from_slice(&json)?))
    }
}
