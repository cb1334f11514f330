//! Redeploying an earlier deploy: its record and the manifests kept beside it, fetched from the
//! history server, become the inputs of a new deploy through the normal pipeline (validate, dry
//! run, apply, watch, Slack, record), recorded as restoring it. A record keeps a Secret's values
//! as digests only, so Secrets are left as they are in the cluster, and the deploy says so.

use shiplog_model::{AppliedManifests, Deploy, DeployId};

use crate::kube::client::Kube;
use crate::kube::request::Request;
use crate::record;

use super::{DeployInputs, Platform, ServerTarget};

/// What a redeploy of deploy `id` deploys: `inputs` with the kept objects in place of
/// manifests, the app, namespace and environment of the record (unless given) and the record's
/// images that the kept objects hold (so the new record has the same images and version); and
/// the objects left as they are, by name.
pub async fn inputs<P: Platform>(
    platform: &P,
    server: &ServerTarget,
    id: DeployId,
    inputs: DeployInputs,
) -> Result<(DeployInputs, Vec<String>), String> {
    let host = platform.public_host(&server.url, server.token.as_deref())?;
    let kube = Kube::new(host, record::BACKOFF);
    let fetch = |path: String| {
        let kube = &kube;
        async move {
            kube.json(&Request::get(path))
                .await
                .map_err(|e| format!("{}: {e}", server.url))
        }
    };
    let deploy: Deploy = serde_json::from_value(fetch(format!("/api/v1/deploys/{id}")).await?)
        .map_err(|e| format!("deploy {id} as the server answered it: {e}"))?;
    let set: AppliedManifests = serde_json::from_value(
        fetch(format!("/api/v1/deploys/{id}/manifests")).await?,
    )
    .map_err(|e| format!("the manifests of deploy {id} as the server answered them: {e}"))?;
    let (files, left_alone) = restorable(id, &set)?;
    // The images the record names, as far as the kept objects hold them: substituting them
    // again changes nothing, and the new record gets the same images and version.
    let images = deploy
        .images
        .into_iter()
        .filter(|image| files.iter().any(|(_, yaml)| yaml.contains(image.as_str())))
        .collect();
    Ok((
        DeployInputs {
            manifests: Vec::new(),
            inline: files,
            images,
            namespace: inputs.namespace.or(Some(deploy.namespace)),
            app: inputs.app.or(Some(deploy.app)),
            environment: inputs.environment.or(Some(deploy.environment)),
            restores: Some(id),
            ..inputs
        },
        left_alone,
    ))
}

/// Manifests given as text: `(name, content)`.
type Files = Vec<(String, String)>;

/// The kept objects of deploy `id` as manifest files, one per object, and the names of the
/// Secrets left out.
fn restorable(id: DeployId, set: &AppliedManifests) -> Result<(Files, Vec<String>), String> {
    if set.objects.is_empty() {
        return Err(format!(
            "deploy {id} cannot be redeployed: {}",
            set.note.as_deref().unwrap_or("it kept no objects")
        ));
    }
    let mut files = Vec::new();
    let mut left_alone = Vec::new();
    for (i, object) in set.objects.iter().enumerate() {
        if object.kind == "Secret" {
            left_alone.push(object.identity());
            continue;
        }
        let name = format!(
            "deploy-{id}/{:03}-{}-{}.yaml",
            i + 1,
            object.kind,
            object.name
        );
        files.push((name, object.yaml.clone()));
    }
    Ok((files, left_alone))
}

#[cfg(test)]
mod tests {
    use shiplog_model::AppliedObject;

    use super::*;

    #[test]
    fn secrets_are_left_out_and_the_rest_become_files_in_order() {
        let object = |kind: &str, name: &str| AppliedObject {
            api_version: "v1".into(),
            kind: kind.into(),
            name: name.into(),
            namespace: Some("prod".into()),
            yaml: format!("kind: {kind}\nmetadata: {{name: {name}}}\n"),
        };
        let set = AppliedManifests {
            digest: "0".repeat(64),
            objects: vec![
                object("ConfigMap", "cfg"),
                object("Secret", "db"),
                object("Deployment", "api"),
            ],
            note: None,
        };
        let (files, left) = restorable(DeployId(7), &set).unwrap();
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "deploy-7/001-ConfigMap-cfg.yaml",
                "deploy-7/003-Deployment-api.yaml"
            ]
        );
        assert_eq!(left, ["Secret/db in prod"]);
        let digest_only = AppliedManifests {
            objects: Vec::new(),
            note: Some("40 objects take 900 KiB as YAML".into()),
            ..set
        };
        let error = restorable(DeployId(7), &digest_only).unwrap_err();
        assert_eq!(
            error,
            "deploy 7 cannot be redeployed: 40 objects take 900 KiB as YAML"
        );
    }
}
