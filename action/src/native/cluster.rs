//! Reaching the cluster of a kubeconfig natively: find the file (`--kubeconfig`, else the first
//! entry of `$KUBECONFIG`, else `~/.kube/config`), read the files it references, run its exec
//! credential plugin, and build the [`HttpHost`]. Errors name files and contexts, never a
//! token, key or plugin output.

use std::path::{Path, PathBuf};

use crate::kubeconfig::{ClusterAccess, Material, Secret, exec_credential, resolve};

use super::http::HttpHost;

/// Why the cluster cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AccessError(pub String);

/// The kubeconfig to read.
pub fn kubeconfig_path(flag: Option<&Path>) -> Result<PathBuf, AccessError> {
    if let Some(path) = flag {
        return Ok(path.to_owned());
    }
    if let Some(first) = std::env::var_os("KUBECONFIG")
        .and_then(|v| std::env::split_paths(&v).find(|p| !p.as_os_str().is_empty()))
    {
        return Ok(first);
    }
    std::env::home_dir()
        .map(|home| home.join(".kube").join("config"))
        .ok_or_else(|| AccessError("no --kubeconfig, no $KUBECONFIG and no home directory".into()))
}

fn read(material: &Material, what: &str) -> Result<Vec<u8>, AccessError> {
    match material {
        Material::Data(data) => Ok(data.clone()),
        Material::File(path) => {
            std::fs::read(path).map_err(|e| AccessError(format!("reading the {what} {path}: {e}")))
        }
    }
}

/// Runs an exec credential plugin; its output is parsed, never shown.
async fn run_plugin(
    exec: &crate::kubeconfig::ExecConfig,
) -> Result<crate::kubeconfig::ExecCredential, AccessError> {
    let output = tokio::process::Command::new(&exec.command)
        .args(&exec.args)
        .envs(exec.env.iter().map(|(k, v)| (k, v)))
        .env("KUBERNETES_EXEC_INFO", exec.exec_info())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .map_err(|e| {
            AccessError(format!(
                "running the credential plugin {}: {e}",
                exec.command
            ))
        })?;
    if !output.status.success() {
        return Err(AccessError(format!(
            "the credential plugin {} failed ({})",
            exec.command, output.status
        )));
    }
    exec_credential(&output.stdout)
        .map_err(|e| AccessError(format!("the credential plugin {}: {e}", exec.command)))
}

/// The cluster of `context` (or the current one) in the kubeconfig at `path`, ready to use.
pub async fn connect(
    path: &Path,
    context: Option<&str>,
) -> Result<(ClusterAccess, HttpHost), AccessError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AccessError(format!("reading the kubeconfig {}: {e}", path.display())))?;
    let base_dir = path
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let access = resolve(&text, context, &base_dir)
        .map_err(|e| AccessError(format!("{}: {e}", path.display())))?;
    let mut builder = reqwest::Client::builder();
    if let Some(ca) = &access.certificate_authority {
        let pem = read(ca, "certificate authority")?;
        for certificate in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            AccessError(format!(
                "the certificate authority of context {}: {e}",
                access.context
            ))
        })? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if access.insecure_skip_tls_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    let credentials = &access.credentials;
    let mut token: Option<Secret> = credentials.token.clone();
    if token.is_none()
        && let Some(file) = &credentials.token_file
    {
        let text = std::fs::read_to_string(file)
            .map_err(|e| AccessError(format!("reading the token file {file}: {e}")))?;
        token = Some(Secret(text.trim().to_owned()));
    }
    let mut client_cert = match &credentials.client_cert {
        Some((cert, key)) => Some((read(cert, "client certificate")?, read(key, "client key")?)),
        None => None,
    };
    if token.is_none()
        && client_cert.is_none()
        && let Some(exec) = &credentials.exec
    {
        let credential = run_plugin(exec).await?;
        token = credential.token;
        client_cert = credential.client_cert;
    }
    if let Some((mut pem, key)) = client_cert {
        pem.push(b'\n');
        pem.extend_from_slice(&key);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|_| {
            AccessError(format!(
                "the client certificate or key of context {} is not valid PEM",
                access.context
            ))
        })?;
        builder = builder.identity(identity);
    }
    let host = HttpHost::new(builder, &access.server, token.map(|t| t.0))
        .map_err(|e| AccessError(format!("setting up TLS for {}: {e}", access.server)))?;
    Ok((access, host))
}
