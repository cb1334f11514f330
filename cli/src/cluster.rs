//! The native transport to a cluster: which kubeconfig files to read (`--kubeconfig`, else
//! `$KUBECONFIG`, else `~/.kube/config`), and an [`HttpHost`] trusting the cluster's CA and
//! presenting its client certificate. Errors name the context, never key material.

use shiplog_engine::pipeline::Cluster;

use super::http::HttpHost;

/// The kubeconfig files to read, in `$KUBECONFIG` order.
pub fn kubeconfig_files(flag: Option<&str>) -> Result<Vec<String>, String> {
    if let Some(path) = flag {
        return Ok(vec![path.to_owned()]);
    }
    if let Some(list) = std::env::var_os("KUBECONFIG") {
        let files: Vec<String> = std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| p.display().to_string())
            .collect();
        if !files.is_empty() {
            return Ok(files);
        }
    }
    std::env::home_dir()
        .map(|home| vec![home.join(".kube").join("config").display().to_string()])
        .ok_or_else(|| "no --kubeconfig, no $KUBECONFIG and no home directory".into())
}

/// The transport to `cluster`'s API server.
pub fn host(cluster: &Cluster) -> Result<HttpHost, String> {
    let mut builder = reqwest::Client::builder();
    if let Some(pem) = &cluster.certificate_authority {
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("the certificate authority of {}: {e}", cluster.server))?;
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if cluster.insecure_skip_tls_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some((cert, key)) = &cluster.client_cert {
        let mut pem = cert.clone();
        pem.push(b'\n');
        pem.extend_from_slice(key);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|_| {
            format!(
                "the client certificate or key for {} is not valid PEM",
                cluster.server
            )
        })?;
        builder = builder.identity(identity);
    }
    HttpHost::new(
        builder,
        &cluster.server,
        cluster.token.as_ref().map(|t| t.0.clone()),
    )
    .map_err(|e| format!("setting up TLS for {}: {e}", cluster.server))
}

/// The cluster of `context` (or the current one) in the kubeconfig file at `path`, ready to
/// use: for tools and tests that talk to a cluster without deploying.
pub async fn connect(
    path: &str,
    context: Option<&str>,
) -> Result<(shiplog_engine::kubeconfig::ClusterAccess, HttpHost), String> {
    let platform = super::platform::Native::default();
    let kubeconfig = shiplog_engine::pipeline::Kubeconfig::Files(vec![path.to_owned()]);
    let (access, cluster) =
        shiplog_engine::pipeline::access::connect(&platform, &kubeconfig, context).await?;
    Ok((access, host(&cluster)?))
}
