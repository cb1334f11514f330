//! Image substitution: each image given with `--images` replaces every container image of the
//! same repository, in every pod template of every kind (Deployment, StatefulSet, DaemonSet,
//! ReplicaSet, Job, CronJob, Pod), init and ephemeral containers included. An entry that
//! matches no container is an input error ([`unmatched`]): a typo must not deploy the old
//! version and report success.

use serde_json::Value;

/// The repository part of an image reference: without `@digest` and without `:tag`.
pub fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match (image.rfind(':'), image.rfind('/')) {
        (Some(colon), Some(slash)) if colon > slash => &image[..colon],
        (Some(colon), None) => &image[..colon],
        _ => image,
    }
}

/// Where the pod spec is inside an object of `kind`, if it has one.
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&["spec"]),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => Some(&["spec", "template", "spec"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// The container lists of a pod spec.
const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// The pod spec inside an object of `kind`, if it has one.
pub fn pod_spec_mut<'a>(kind: &str, object: &'a mut Value) -> Option<&'a mut Value> {
    pod_spec_path(kind)?
        .iter()
        .try_fold(object, |value, key| value.get_mut(*key))
}

/// The container images of an object of `kind`.
pub fn container_images<'a>(kind: &str, object: &'a Value) -> Vec<&'a str> {
    let Some(path) = pod_spec_path(kind) else {
        return Vec::new();
    };
    let spec = path.iter().fold(object, |value, key| &value[*key]);
    CONTAINER_LISTS
        .iter()
        .filter_map(|list| spec[*list].as_array())
        .flatten()
        .filter_map(|container| container["image"].as_str())
        .collect()
}

/// The entries of `images` whose repository is no container image's among `objects` (each
/// `(kind, object)`).
pub fn unmatched<'i, 'o>(
    objects: impl IntoIterator<Item = (&'o str, &'o Value)>,
    images: &'i [String],
) -> Vec<&'i str> {
    let present: Vec<&str> = objects
        .into_iter()
        .flat_map(|(kind, object)| container_images(kind, object))
        .map(repository)
        .collect();
    images
        .iter()
        .filter(|image| !present.contains(&repository(image)))
        .map(String::as_str)
        .collect()
}

/// One replacement made, for reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substitution {
    pub container: String,
    pub from: String,
    pub to: String,
}

/// Replaces the images of `object` (of `kind`) whose repository matches one of `images`.
pub fn substitute(kind: &str, object: &mut Value, images: &[String]) -> Vec<Substitution> {
    let mut done = Vec::new();
    let Some(spec) = pod_spec_mut(kind, object) else {
        return done;
    };
    for list in CONTAINER_LISTS {
        let Some(Value::Array(containers)) = spec.get_mut(list) else {
            continue;
        };
        for container in containers {
            let Some(current) = container["image"].as_str().map(str::to_owned) else {
                continue;
            };
            let wanted = images
                .iter()
                .find(|i| repository(i) == repository(&current));
            if let Some(wanted) = wanted.filter(|w| **w != current) {
                done.push(Substitution {
                    container: container["name"].as_str().unwrap_or_default().to_owned(),
                    from: current,
                    to: wanted.clone(),
                });
                container["image"] = Value::String(wanted.clone());
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repositories_ignore_tags_and_digests_but_not_ports() {
        assert_eq!(repository("ghcr.io/acme/api:v1"), "ghcr.io/acme/api");
        assert_eq!(
            repository("registry:5000/acme/api"),
            "registry:5000/acme/api"
        );
        assert_eq!(
            repository("registry:5000/acme/api:v2@sha256:abc"),
            "registry:5000/acme/api"
        );
        assert_eq!(repository("nginx:1.27"), "nginx");
        assert_eq!(repository("nginx"), "nginx");
    }

    #[test]
    fn cronjobs_and_init_containers_are_substituted() {
        let mut cronjob = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "migrate", "image": "ghcr.io/acme/api:old"}],
            "containers": [{"name": "job", "image": "ghcr.io/acme/api:old"}, {"name": "proxy", "image": "envoy:1"}]
        }}}}}});
        let done = substitute("CronJob", &mut cronjob, &["ghcr.io/acme/api:new".into()]);
        assert_eq!(done.len(), 2);
        let spec = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(spec["initContainers"][0]["image"], "ghcr.io/acme/api:new");
        assert_eq!(spec["containers"][0]["image"], "ghcr.io/acme/api:new");
        assert_eq!(
            spec["containers"][1]["image"], "envoy:1",
            "other repositories are untouched"
        );

        let mut service = json!({"spec": {"ports": []}});
        assert!(substitute("Service", &mut service, &["ghcr.io/acme/api:new".into()]).is_empty());
    }

    #[test]
    fn entries_that_match_no_container_are_named() {
        let deployment = json!({"spec": {"template": {"spec": {
            "initContainers": [{"name": "migrate", "image": "ghcr.io/acme/migrate:v1"}],
            "containers": [{"name": "api", "image": "ghcr.io/acme/api:v1"}]}}}});
        let service = json!({"spec": {}});
        let objects = [("Deployment", &deployment), ("Service", &service)];
        let images = [
            "ghcr.io/acme/api:v2".to_owned(),
            "ghcr.io/acme/migrate:v2".to_owned(),
            "ghcr.io/acme/apii:v2".to_owned(),
        ];
        assert_eq!(unmatched(objects, &images), ["ghcr.io/acme/apii:v2"]);
        // An image already at the wanted version matches: nothing to change, nothing wrong.
        let same = ["ghcr.io/acme/api:v1".to_owned()];
        assert!(unmatched(objects, &same).is_empty());
    }
}
