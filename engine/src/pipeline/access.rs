//! Reaching the cluster of a kubeconfig through any [`Platform`]: find the kubeconfig (a file,
//! or the content a workflow secret holds), resolve the context, read the files it references
//! and run its exec credential plugin, then let the platform build the transport. Errors name
//! files and contexts, never a token, key or plugin output.

use crate::kubeconfig::{
    ClusterAccess, ExecConfig, KubeconfigError, KubeconfigSource, Material, Secret,
    exec_credential, resolve_merged,
};

use super::Platform;
use crate::sources::FileSystem as _;

/// Where the kubeconfig comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Kubeconfig {
    /// Files, as `$KUBECONFIG` lists them (merged as kubectl merges them) or `--kubeconfig`
    /// names one.
    Files(Vec<String>),
    /// The kubeconfig itself (the Action's `kubeconfig` input, from a secret); relative
    /// paths in it are resolved against the working directory.
    Inline(String),
}

impl std::fmt::Debug for Kubeconfig {
    // An inline kubeconfig holds credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kubeconfig::Files(files) => f.debug_tuple("Files").field(files).finish(),
            Kubeconfig::Inline(_) => f.write_str("Inline(…)"),
        }
    }
}

/// Everything a transport needs to talk to the API server, read and ready.
#[derive(Clone, PartialEq, Eq)]
pub struct Cluster {
    pub server: String,
    /// PEM bundle to trust instead of the system's roots.
    pub certificate_authority: Option<Vec<u8>>,
    pub insecure_skip_tls_verify: bool,
    pub token: Option<Secret>,
    /// Client certificate and key, PEM.
    pub client_cert: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Cluster {
    // Never print key material, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .finish_non_exhaustive()
    }
}

fn read(platform: &impl Platform, material: &Material, what: &str) -> Result<Vec<u8>, String> {
    match material {
        Material::Data(data) => Ok(data.clone()),
        Material::File(path) => platform
            .files()
            .read(path)
            .map_err(|e| format!("reading the {what} {path}: {e}")),
    }
}

/// A kubeconfig file's name (for errors), directory (for its relative paths) and text.
type Loaded = (String, String, String);

fn read_kubeconfig(platform: &impl Platform, path: &str) -> Result<Loaded, String> {
    let bytes = platform
        .files()
        .read(path)
        .map_err(|e| format!("reading the kubeconfig {path}: {e}"))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("the kubeconfig {path} is not UTF-8 text"))?;
    let dir = match path.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((dir, _)) => dir,
        None => ".",
    };
    Ok((path.to_owned(), dir.to_owned(), text))
}

/// The kubeconfig files to merge. Of several files (`KUBECONFIG=a:b`) the missing ones are
/// skipped, as kubectl does; a single file must exist.
fn load(platform: &impl Platform, kubeconfig: &Kubeconfig) -> Result<Vec<Loaded>, String> {
    match kubeconfig {
        Kubeconfig::Inline(text) => Ok(vec![(
            "the kubeconfig input".into(),
            ".".into(),
            text.clone(),
        )]),
        Kubeconfig::Files(files) if files.len() == 1 => {
            Ok(vec![read_kubeconfig(platform, &files[0])?])
        }
        Kubeconfig::Files(files) => {
            let loaded: Vec<Loaded> = files
                .iter()
                .filter(|path| platform.files().entry(path).is_some())
                .map(|path| read_kubeconfig(platform, path))
                .collect::<Result<_, _>>()?;
            if loaded.is_empty() {
                return Err(format!(
                    "none of the kubeconfig files exists: {}",
                    files.join(", ")
                ));
            }
            Ok(loaded)
        }
    }
}

async fn credential_plugin(
    platform: &impl Platform,
    exec: &ExecConfig,
) -> Result<crate::kubeconfig::ExecCredential, String> {
    let output = platform
        .run_plugin(exec)
        .await
        .map_err(|e| format!("the credential plugin {}: {e}", exec.command))?;
    exec_credential(&output).map_err(|e| format!("the credential plugin {}: {e}", exec.command))
}

/// The cluster of `context` (or the current one), with its credentials read.
pub async fn connect(
    platform: &impl Platform,
    kubeconfig: &Kubeconfig,
    context: Option<&str>,
) -> Result<(ClusterAccess, Cluster), String> {
    let loaded = load(platform, kubeconfig)?;
    let sources: Vec<KubeconfigSource<'_>> = loaded
        .iter()
        .map(|(name, dir, text)| KubeconfigSource { name, dir, text })
        .collect();
    let access = resolve_merged(&sources, context).map_err(|e| match (&e, loaded.as_slice()) {
        (KubeconfigError::FileSyntax { .. }, _) => e.to_string(),
        (_, [(name, _, _)]) => format!("{name}: {e}"),
        _ => format!("the kubeconfig files: {e}"),
    })?;
    let credentials = &access.credentials;
    let mut token = credentials.token.clone();
    if token.is_none()
        && let Some(file) = &credentials.token_file
    {
        let text = read(platform, &Material::File(file.clone()), "token file")?;
        token = Some(Secret(String::from_utf8_lossy(&text).trim().to_owned()));
    }
    let mut client_cert = match &credentials.client_cert {
        Some((cert, key)) => Some((
            read(platform, cert, "client certificate")?,
            read(platform, key, "client key")?,
        )),
        None => None,
    };
    if token.is_none()
        && client_cert.is_none()
        && let Some(exec) = &credentials.exec
    {
        let credential = credential_plugin(platform, exec).await?;
        token = credential.token;
        client_cert = credential.client_cert;
    }
    let certificate_authority = match &access.certificate_authority {
        Some(ca) => Some(read(platform, ca, "certificate authority")?),
        None => None,
    };
    if let Some(token) = &token {
        platform.mask(&token.0);
    }
    if let Some((_, key)) = &client_cert {
        platform.mask(&String::from_utf8_lossy(key));
    }
    let cluster = Cluster {
        server: access.server.clone(),
        certificate_authority,
        insecure_skip_tls_verify: access.insecure_skip_tls_verify,
        token,
        client_cert,
    };
    Ok((access, cluster))
}
