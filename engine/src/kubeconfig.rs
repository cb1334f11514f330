//! Reading a kubeconfig: which cluster to talk to, how to trust it and how to authenticate,
//! for the current context or the one given with `--context`, from one file ([`resolve`]) or
//! several merged as kubectl merges `KUBECONFIG=a:b` ([`resolve_merged`]). Pure: file
//! references are kept as paths (resolved against the directory of the kubeconfig that
//! defines them) for the host to read, and exec credential plugins are described for the host
//! to run ([`ExecConfig`]); their answer is parsed here ([`exec_credential`]).

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

/// Something the kubeconfig gives inline (`*-data`) or as a file.
#[derive(Clone, PartialEq, Eq)]
pub enum Material {
    Data(Vec<u8>),
    File(String),
}

impl std::fmt::Debug for Material {
    // Never print key material, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Material::Data(data) => write!(f, "Data({} bytes)", data.len()),
            Material::File(path) => write!(f, "File({path:?})"),
        }
    }
}

/// A text that must never be printed (a bearer token).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// An exec credential plugin (`users[].user.exec`), as `kubelogin` for AKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecConfig {
    /// `client.authentication.k8s.io/v1` or `…/v1beta1`.
    pub api_version: String,
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// Environment variables a credential plugin never sees, by prefix: the Action's inputs (its
/// secrets arrive as `INPUT_*`) and the runner's OIDC token request.
pub const WITHHELD_FROM_PLUGINS_PREFIXES: &[&str] = &["INPUT_", "ACTIONS_ID_TOKEN_REQUEST_"];

/// Environment variables a credential plugin never sees, by name: the runner's token for the
/// job and the CLI's own secrets. Everything else reaches the plugin as kubectl passes it.
pub const WITHHELD_FROM_PLUGINS_NAMES: &[&str] = &[
    "ACTIONS_RUNTIME_TOKEN",
    "SHIPLOG_SERVER_TOKEN",
    "SHIPLOG_SLACK_TOKEN",
    "SHIPLOG_SLACK_WEBHOOK",
];

/// Whether the variable `name` is kept from credential plugins (see
/// [`WITHHELD_FROM_PLUGINS_NAMES`] and [`WITHHELD_FROM_PLUGINS_PREFIXES`]).
pub fn withheld_from_plugins(name: &str) -> bool {
    WITHHELD_FROM_PLUGINS_NAMES.contains(&name)
        || WITHHELD_FROM_PLUGINS_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

impl ExecConfig {
    /// The `KUBERNETES_EXEC_INFO` the plugin receives.
    pub fn exec_info(&self) -> String {
        serde_json::json!({
            "apiVersion": self.api_version,
            "kind": "ExecCredential",
            "spec": {"interactive": false},
        })
        .to_string()
    }
}

/// How to authenticate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub token: Option<Secret>,
    pub token_file: Option<String>,
    /// Client certificate and key.
    pub client_cert: Option<(Material, Material)>,
    pub exec: Option<ExecConfig>,
}

/// Everything needed to reach the API server of one context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAccess {
    pub context: String,
    pub server: String,
    pub certificate_authority: Option<Material>,
    pub insecure_skip_tls_verify: bool,
    pub credentials: Credentials,
    /// The context's namespace, if it names one.
    pub namespace: Option<String>,
}

/// Why a kubeconfig cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeconfigError {
    #[error("not a valid kubeconfig: {0}")]
    Syntax(String),
    /// One of several merged files ([`resolve_merged`]) is not valid.
    #[error("{file} is not a valid kubeconfig: {message}")]
    FileSyntax { file: String, message: String },
    #[error("no context given and the kubeconfig has no current-context")]
    NoContext,
    #[error("context \"{0}\" is not in the kubeconfig")]
    UnknownContext(String),
    #[error("{what} \"{name}\" (used by context \"{context}\") is not in the kubeconfig")]
    Missing {
        what: &'static str,
        name: String,
        context: String,
    },
    #[error("{field} of {owner} is not valid base64")]
    Base64 { field: String, owner: String },
    #[error("cluster \"{0}\" has no server")]
    NoServer(String),
}

#[derive(Deserialize, Default)]
struct Named {
    #[serde(default)]
    name: String,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct File {
    clusters: Vec<Named>,
    users: Vec<Named>,
    contexts: Vec<Named>,
    #[serde(rename = "current-context")]
    current_context: String,
}

/// A parsed kubeconfig file and the directory its relative file references are resolved
/// against.
struct Loaded<'a> {
    dir: &'a str,
    file: File,
}

/// One of the lists of a kubeconfig file.
#[derive(Clone, Copy)]
enum List {
    Clusters,
    Users,
    Contexts,
}

impl List {
    fn of(self, file: &File) -> &[Named] {
        match self {
            List::Clusters => &file.clusters,
            List::Users => &file.users,
            List::Contexts => &file.contexts,
        }
    }

    /// The key holding an entry's content (`cluster`, `user`, `context`).
    fn key(self) -> &'static str {
        match self {
            List::Clusters => "cluster",
            List::Users => "user",
            List::Contexts => "context",
        }
    }
}

/// The entry `name` of `list` and the directory of the file that defines it: the first file
/// that has the name wins, entirely (as kubectl merges: a later file's fields for the same
/// name are not merged in).
fn entry<'a>(files: &'a [Loaded<'a>], list: List, name: &str) -> Option<(&'a Value, &'a str)> {
    let (named, dir) = files.iter().find_map(|loaded| {
        let named = list.of(&loaded.file).iter().find(|n| n.name == name)?;
        Some((named, loaded.dir))
    })?;
    Some((named.rest.get(list.key())?, dir))
}

/// Resolves `path` (from a kubeconfig in `base_dir`) the way kubectl does: relative to the
/// kubeconfig's directory.
fn relative_to(base_dir: &str, path: &str) -> String {
    let absolute = path.starts_with('/') || path.get(1..3) == Some(":\\");
    if absolute || base_dir.is_empty() {
        path.to_owned()
    } else {
        let path = path.trim_start_matches("./");
        format!("{}/{path}", base_dir.trim_end_matches('/'))
    }
}

fn material(
    section: &Value,
    field: &str,
    owner: &str,
    base_dir: &str,
) -> Result<Option<Material>, KubeconfigError> {
    if let Some(data) = section[format!("{field}-data")]
        .as_str()
        .filter(|d| !d.is_empty())
    {
        let compact: String = data.split_whitespace().collect();
        return base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map(|bytes| Some(Material::Data(bytes)))
            .map_err(|_| KubeconfigError::Base64 {
                field: format!("{field}-data"),
                owner: owner.to_owned(),
            });
    }
    Ok(section[field]
        .as_str()
        .filter(|p| !p.is_empty())
        .map(|p| Material::File(relative_to(base_dir, p))))
}

/// The user's credential plugin. A relative `command` with a path separator in it
/// (`./bin/token`) is resolved against the kubeconfig's directory, as kubectl does; a bare name
/// (`aws`) is looked up on `PATH`.
fn exec_config(exec: &Value, base_dir: &str) -> Option<ExecConfig> {
    let command = exec["command"].as_str()?;
    let command = if command.contains(['/', '\\']) {
        relative_to(base_dir, command)
    } else {
        command.to_owned()
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    let env = exec["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_owned(),
                e["value"].as_str()?.to_owned(),
            ))
        })
        .collect();
    Some(ExecConfig {
        api_version: exec["apiVersion"]
            .as_str()
            .unwrap_or("client.authentication.k8s.io/v1")
            .to_owned(),
        command,
        args: strings(&exec["args"]),
        env,
    })
}

fn parse(text: &str) -> Result<File, String> {
    serde_norway::from_str(text).map_err(|e| e.to_string())
}

/// The access for `context` (or the current context) of the kubeconfig `text`, whose
/// relative file references are resolved against `base_dir`.
pub fn resolve(
    text: &str,
    context: Option<&str>,
    base_dir: &str,
) -> Result<ClusterAccess, KubeconfigError> {
    let file = parse(text).map_err(KubeconfigError::Syntax)?;
    access(
        &[Loaded {
            dir: base_dir,
            file,
        }],
        context,
    )
}

/// One of several kubeconfig files to merge.
#[derive(Debug, Clone, Copy)]
pub struct KubeconfigSource<'a> {
    /// How errors name the file (its path).
    pub name: &'a str,
    /// The directory its relative file references are resolved against (the file's own).
    pub dir: &'a str,
    pub text: &'a str,
}

/// The access for `context` (or the current context) of several kubeconfig files merged the
/// way kubectl merges `KUBECONFIG=a:b`, in that order: a cluster, user or context comes
/// whole from the first file that defines its name; `current-context` from the first file
/// that sets it; relative file references are resolved against the directory of the file
/// that defined the entry holding them.
pub fn resolve_merged(
    files: &[KubeconfigSource<'_>],
    context: Option<&str>,
) -> Result<ClusterAccess, KubeconfigError> {
    let loaded = files
        .iter()
        .map(|source| {
            Ok(Loaded {
                dir: source.dir,
                file: parse(source.text).map_err(|message| KubeconfigError::FileSyntax {
                    file: source.name.to_owned(),
                    message,
                })?,
            })
        })
        .collect::<Result<Vec<_>, KubeconfigError>>()?;
    access(&loaded, context)
}

/// The access for `context` (or the first current context) of `files`, merged.
fn access(files: &[Loaded<'_>], context: Option<&str>) -> Result<ClusterAccess, KubeconfigError> {
    let current = files
        .iter()
        .map(|loaded| loaded.file.current_context.as_str())
        .find(|name| !name.is_empty());
    let context_name = match context.or(current) {
        Some(name) => name.to_owned(),
        None => return Err(KubeconfigError::NoContext),
    };
    let (ctx, _) = entry(files, List::Contexts, &context_name)
        .ok_or_else(|| KubeconfigError::UnknownContext(context_name.clone()))?;
    let missing = |what, name: &str| KubeconfigError::Missing {
        what,
        name: name.to_owned(),
        context: context_name.clone(),
    };
    let cluster_name = ctx["cluster"].as_str().unwrap_or_default();
    let (cluster, cluster_dir) = entry(files, List::Clusters, cluster_name)
        .ok_or_else(|| missing("cluster", cluster_name))?;
    let user_name = ctx["user"].as_str().unwrap_or_default();
    let (user, user_dir) = if user_name.is_empty() {
        (&Value::Null, "")
    } else {
        entry(files, List::Users, user_name).ok_or_else(|| missing("user", user_name))?
    };
    let server = cluster["server"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| KubeconfigError::NoServer(cluster_name.to_owned()))?
        .trim_end_matches('/')
        .to_owned();
    let cluster_owner = format!("cluster \"{cluster_name}\"");
    let user_owner = format!("user \"{user_name}\"");
    let client_cert = match (
        material(user, "client-certificate", &user_owner, user_dir)?,
        material(user, "client-key", &user_owner, user_dir)?,
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        _ => None,
    };
    Ok(ClusterAccess {
        context: context_name.clone(),
        server,
        certificate_authority: material(
            cluster,
            "certificate-authority",
            &cluster_owner,
            cluster_dir,
        )?,
        insecure_skip_tls_verify: cluster["insecure-skip-tls-verify"].as_bool() == Some(true),
        credentials: Credentials {
            token: user["token"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(|t| Secret(t.to_owned())),
            token_file: user["tokenFile"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(|p| relative_to(user_dir, p)),
            client_cert,
            exec: exec_config(&user["exec"], user_dir),
        },
        namespace: ctx["namespace"]
            .as_str()
            .filter(|ns| !ns.is_empty())
            .map(str::to_owned),
    })
}

/// What an exec credential plugin answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCredential {
    pub token: Option<Secret>,
    /// Client certificate and key, PEM.
    pub client_cert: Option<(Vec<u8>, Vec<u8>)>,
}

/// Parses the `ExecCredential` a plugin printed. The error never quotes the output, which
/// holds secrets.
pub fn exec_credential(output: &[u8]) -> Result<ExecCredential, String> {
    let value: Value = serde_json::from_slice(output).map_err(|e| {
        format!(
            "its output is not an ExecCredential (JSON error at line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if value["kind"] != "ExecCredential" {
        return Err("its output is not an ExecCredential".into());
    }
    let status = &value["status"];
    let text = |key: &str| status[key].as_str().filter(|s| !s.is_empty());
    let credential = ExecCredential {
        token: text("token").map(|t| Secret(t.to_owned())),
        client_cert: text("clientCertificateData")
            .zip(text("clientKeyData"))
            .map(|(c, k)| (c.as_bytes().to_vec(), k.as_bytes().to_vec())),
    };
    if credential.token.is_none() && credential.client_cert.is_none() {
        return Err("its ExecCredential has neither a token nor a client certificate".into());
    }
    Ok(credential)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: aks
  cluster:
    server: https://aks.example:443/
    certificate-authority-data: UEVN
- name: local
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
    insecure-skip-tls-verify: true
users:
- name: alice
  user:
    token: s3cret
- name: bob
  user:
    client-certificate: /etc/bob.crt
    client-key-data: S0VZ
    tokenFile: token
- name: azure
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --login, azurecli]
      env: [{name: AAD_LOGIN_METHOD, value: azurecli}]
contexts:
- name: dev
  context: {cluster: aks, user: alice, namespace: shop}
- name: local
  context: {cluster: local, user: bob}
- name: prod
  context: {cluster: aks, user: azure}
- name: broken
  context: {cluster: nowhere, user: alice}
"#;

    #[test]
    fn the_current_context_gives_server_ca_token_and_namespace() {
        let access = resolve(CONFIG, None, "/home/me/.kube").unwrap();
        assert_eq!(access.context, "dev");
        assert_eq!(access.server, "https://aks.example:443");
        assert_eq!(
            access.certificate_authority,
            Some(Material::Data(b"PEM".to_vec()))
        );
        assert_eq!(access.credentials.token, Some(Secret("s3cret".into())));
        assert_eq!(access.namespace.as_deref(), Some("shop"));
        assert!(!format!("{access:?}").contains("s3cret"));
    }

    #[test]
    fn files_are_relative_to_the_kubeconfig_and_data_wins() {
        let access = resolve(CONFIG, Some("local"), "/home/me/.kube").unwrap();
        assert_eq!(
            access.certificate_authority,
            Some(Material::File("/home/me/.kube/ca.crt".into()))
        );
        assert!(access.insecure_skip_tls_verify);
        assert_eq!(
            access.credentials.client_cert,
            Some((
                Material::File("/etc/bob.crt".into()),
                Material::Data(b"KEY".to_vec())
            ))
        );
        assert_eq!(
            access.credentials.token_file.as_deref(),
            Some("/home/me/.kube/token")
        );
        assert_eq!(access.namespace, None);
    }

    #[test]
    fn exec_plugins_are_described_for_the_host() {
        let access = resolve(CONFIG, Some("prod"), "").unwrap();
        let exec = access.credentials.exec.unwrap();
        assert_eq!(exec.command, "kubelogin");
        assert_eq!(exec.args, ["get-token", "--login", "azurecli"]);
        assert_eq!(exec.env, [("AAD_LOGIN_METHOD".into(), "azurecli".into())]);
        assert!(
            exec.exec_info()
                .contains("client.authentication.k8s.io/v1beta1")
        );
    }

    #[test]
    fn a_plugin_given_by_a_relative_path_is_found_beside_the_kubeconfig() {
        let config = CONFIG.replace("command: kubelogin", "command: ./bin/kubelogin");
        let access = resolve(&config, Some("prod"), "/home/me/.kube").unwrap();
        let exec = access.credentials.exec.unwrap();
        assert_eq!(exec.command, "/home/me/.kube/bin/kubelogin");
        let bare = resolve(CONFIG, Some("prod"), "/home/me/.kube").unwrap();
        assert_eq!(bare.credentials.exec.unwrap().command, "kubelogin");
    }

    #[test]
    fn unknown_contexts_and_dangling_references_are_named() {
        assert_eq!(
            resolve(CONFIG, Some("staging"), "")
                .unwrap_err()
                .to_string(),
            "context \"staging\" is not in the kubeconfig"
        );
        assert_eq!(
            resolve(CONFIG, Some("broken"), "").unwrap_err().to_string(),
            "cluster \"nowhere\" (used by context \"broken\") is not in the kubeconfig"
        );
        assert!(matches!(
            resolve("clusters: []\n", None, ""),
            Err(KubeconfigError::NoContext)
        ));
    }

    fn source<'a>(name: &'a str, dir: &'a str, text: &'a str) -> KubeconfigSource<'a> {
        KubeconfigSource { name, dir, text }
    }

    /// No current context; `dev` defined again, with another cluster; `alice` defined again
    /// with another token and an extra field; a cluster and a user of its own, with relative
    /// files.
    const SECOND: &str = r#"
clusters:
- name: aks
  cluster: {server: "https://other.example", insecure-skip-tls-verify: true}
- name: kind
  cluster: {server: "https://127.0.0.1:7443", certificate-authority: certs/ca.pem}
users:
- name: alice
  user: {token: other-token, tokenFile: alice.token}
- name: carol
  user: {client-certificate: carol.crt, client-key: keys/carol.key}
contexts:
- name: dev
  context: {cluster: kind, user: carol}
- name: kind
  context: {cluster: kind, user: carol, namespace: ci}
- name: mixed
  context: {cluster: local, user: carol}
current-context: kind
"#;

    #[test]
    fn the_first_file_that_defines_a_name_wins_it_whole() {
        let files = [
            source("/a/config", "/a", CONFIG),
            source("/b/config", "/b", SECOND),
        ];
        let dev = resolve_merged(&files, None).unwrap();
        assert_eq!(dev.context, "dev", "current-context of the first file");
        assert_eq!(dev.server, "https://aks.example:443");
        assert!(!dev.insecure_skip_tls_verify, "no field of the second aks");
        assert_eq!(dev.credentials.token, Some(Secret("s3cret".into())));
        assert_eq!(
            dev.credentials.token_file, None,
            "no field of the second alice"
        );
        let reversed = [files[1], files[0]];
        let kind = resolve_merged(&reversed, None).unwrap();
        assert_eq!(
            (kind.context.as_str(), kind.namespace.as_deref()),
            ("kind", Some("ci"))
        );
        let dev = resolve_merged(&reversed, Some("dev")).unwrap();
        assert_eq!(dev.server, "https://127.0.0.1:7443");
    }

    #[test]
    fn current_context_comes_from_the_first_file_that_sets_it() {
        let files = [
            source("/a/config", "/a", "clusters: []\n"),
            source("/b/config", "/b", SECOND),
            source("/c/config", "/c", CONFIG),
        ];
        let access = resolve_merged(&files, None).unwrap();
        assert_eq!(access.context, "kind");
        assert!(matches!(
            resolve_merged(&files[..1], None),
            Err(KubeconfigError::NoContext)
        ));
        assert!(matches!(
            resolve_merged(&[], None),
            Err(KubeconfigError::NoContext)
        ));
    }

    #[test]
    fn relative_files_are_resolved_against_the_file_that_defines_the_entry() {
        // Context and cluster `local` from the first file, user `carol` from the second.
        let files = [
            source("/a/config", "/home/me/.kube", CONFIG),
            source("/b/config", "/srv/ci/kube", SECOND),
        ];
        let mixed = resolve_merged(&files, Some("mixed")).unwrap();
        assert_eq!(
            mixed.certificate_authority,
            Some(Material::File("/home/me/.kube/ca.crt".into()))
        );
        assert_eq!(
            mixed.credentials.client_cert,
            Some((
                Material::File("/srv/ci/kube/carol.crt".into()),
                Material::File("/srv/ci/kube/keys/carol.key".into())
            ))
        );
        let kind = resolve_merged(&files, Some("kind")).unwrap();
        assert_eq!(
            kind.certificate_authority,
            Some(Material::File("/srv/ci/kube/certs/ca.pem".into()))
        );
        assert_eq!(
            resolve_merged(&files, Some("local")).unwrap(),
            resolve(CONFIG, Some("local"), "/home/me/.kube").unwrap(),
            "one file's entries resolve as that file alone does"
        );
    }

    #[test]
    fn empty_files_are_empty_kubeconfigs() {
        let files = [
            source("/a/config", "/a", ""),
            source("/b/config", "/b", "# nothing yet\n"),
            source("/c/config", "/c", CONFIG),
        ];
        assert_eq!(resolve_merged(&files, None).unwrap().context, "dev");
    }

    #[test]
    fn references_may_cross_files_but_must_exist_in_one() {
        let files = [
            source(
                "/a/config",
                "/a",
                "contexts:\n- name: x\n  context: {cluster: kind, user: nobody}\n",
            ),
            source("/b/config", "/b", SECOND),
        ];
        assert_eq!(
            resolve_merged(&files, Some("x")).unwrap_err().to_string(),
            "user \"nobody\" (used by context \"x\") is not in the kubeconfig"
        );
        let broken = [files[1], source("/c/config", "/c", "clusters: [")];
        assert!(
            resolve_merged(&broken, None)
                .unwrap_err()
                .to_string()
                .starts_with("/c/config is not a valid kubeconfig: "),
            "the broken file is named"
        );
    }

    #[test]
    fn exec_credentials_give_a_token_or_a_certificate_and_never_echo_output() {
        let answer = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok"}}"#;
        assert_eq!(
            exec_credential(answer).unwrap().token,
            Some(Secret("tok".into()))
        );
        let error = exec_credential(b"token=hunter2").unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(exec_credential(br#"{"kind":"ExecCredential","status":{}}"#).is_err());
    }
}
