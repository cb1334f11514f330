//! The kubeconfigs kubesim writes for its clients: one cluster (server URL and CA), one user
//! (the bearer token, or a client certificate and its key) and one context with a default
//! namespace.

use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::json;

/// How the kubeconfig's user authenticates.
#[derive(Clone, Copy, Debug)]
pub enum User<'a> {
    /// A bearer token.
    Token(&'a str),
    /// A client certificate and its key, PEM.
    ClientCertificate { cert: &'a str, key: &'a str },
}

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The kubeconfig for `url`, as YAML. `ca_pem` is absent for plain HTTP.
pub fn render(url: &str, ca_pem: Option<&str>, user: User<'_>, namespace: &str) -> String {
    let mut cluster = json!({"server": url});
    if let Some(pem) = ca_pem {
        cluster["certificate-authority-data"] = json!(base64(pem));
    }
    let user = match user {
        User::Token(token) => json!({"token": token}),
        User::ClientCertificate { cert, key } => json!({
            "client-certificate-data": base64(cert),
            "client-key-data": base64(key),
        }),
    };
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubesim", "cluster": cluster}],
        "users": [{"name": "kubesim", "user": user}],
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
        let yaml = render(
            "https://127.0.0.1:1",
            Some("PEM"),
            User::Token("tok"),
            "dev",
        );
        let v: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(v["clusters"][0]["cluster"]["server"], "https://127.0.0.1:1");
        assert_eq!(v["users"][0]["user"]["token"], "tok");
        assert_eq!(v["contexts"][0]["context"]["namespace"], "dev");
        assert_eq!(v["current-context"], "kubesim");
    }

    #[test]
    fn a_client_certificate_user_carries_certificate_and_key_as_base64_data() {
        let user = User::ClientCertificate {
            cert: "CERT",
            key: "KEY",
        };
        let yaml = render("https://127.0.0.1:1", Some("PEM"), user, "default");
        let v: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(
            v["users"][0]["user"],
            serde_json::json!({"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"})
        );
        assert_eq!(
            v["clusters"][0]["cluster"]["certificate-authority-data"],
            "UEVN"
        );
    }
}
