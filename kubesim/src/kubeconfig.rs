//! The kubeconfig kubesim writes for its clients: one cluster (server URL and CA), one user
//! (the bearer token) and one context with a default namespace.

use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::json;

/// The kubeconfig for `url`, as YAML. `ca_pem` is absent for plain HTTP.
pub fn render(url: &str, ca_pem: Option<&str>, token: &str, namespace: &str) -> String {
    let mut cluster = json!({"server": url});
    if let Some(pem) = ca_pem {
        cluster["certificate-authority-data"] =
            json!(base64::engine::general_purpose::STANDARD.encode(pem));
    }
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubesim", "cluster": cluster}],
        "users": [{"name": "kubesim", "user": {"token": token}}],
        "contexts": [{"name": "kubesim", "context": {"cluster": "kubesim", "user": "kubesim", "namespace": namespace}}],
        "current-context": "kubesim",
        "preferences": {},
    });
    let yaml = serde_norway::to_string(&config).expect("a JSON value serializes as YAML");
    format!("# kubeconfig for kubesim, a Kubernetes API simulator (not a real cluster)\n{yaml}")
}

/// Writes the kubeconfig to `path` (readable by the owner only on Unix).
pub fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_usable_kubeconfig() {
        let yaml = render("https://127.0.0.1:1", Some("PEM"), "tok", "dev");
        let v: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(v["clusters"][0]["cluster"]["server"], "https://127.0.0.1:1");
        assert_eq!(v["users"][0]["user"]["token"], "tok");
        assert_eq!(v["contexts"][0]["context"]["namespace"], "dev");
        assert_eq!(v["current-context"], "kubesim");
    }
}
