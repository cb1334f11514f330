//! Parsing request paths (`/apis/apps/v1/namespaces/ns/deployments/web/scale`) into the kind,
//! namespace, name and subresource they address.

use crate::resources::Kind;

/// What a resource path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    /// `None`: all namespaces (or a cluster-scoped kind).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The legacy `/watch/` path prefix was used.
    pub watch: bool,
}

/// Parses a resource path; `None` when it addresses no served resource.
pub fn parse(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, mut rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let watch = rest.first() == Some(&"watch");
    if watch {
        rest = &rest[1..];
    }
    let found = |plural: &str| Kind::from_plural(group, version, plural);
    let target = |kind, namespace: Option<&str>, name: Option<&&str>, sub: Option<&&str>| Target {
        kind,
        namespace: namespace.map(String::from),
        name: name.map(|n| n.to_string()),
        subresource: sub.map(|s| s.to_string()),
        watch,
    };
    match rest {
        ["namespaces", ns, plural, tail @ ..]
            if !matches!(*plural, "status" | "finalize") && tail.len() <= 2 =>
        {
            let kind = found(plural)?;
            kind.def()
                .namespaced
                .then(|| target(kind, Some(ns), tail.first(), tail.get(1)))
        }
        [plural, tail @ ..] if tail.len() <= 2 => {
            let kind = found(plural)?;
            if kind.def().namespaced && !tail.is_empty() {
                return None;
            }
            Some(target(kind, None, tail.first(), tail.get(1)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_resource_paths() {
        let t = parse("/apis/apps/v1/namespaces/ns/deployments/web/scale").unwrap();
        assert_eq!(t.kind, Kind::Deployment);
        assert_eq!(t.namespace.as_deref(), Some("ns"));
        assert_eq!(t.name.as_deref(), Some("web"));
        assert_eq!(t.subresource.as_deref(), Some("scale"));
        let t = parse("/api/v1/namespaces/ns").unwrap();
        assert_eq!(
            (t.kind, t.name.as_deref(), t.namespace),
            (Kind::Namespace, Some("ns"), None)
        );
        let t = parse("/api/v1/namespaces/ns/status").unwrap();
        assert_eq!(t.subresource.as_deref(), Some("status"));
        let t = parse("/api/v1/pods").unwrap();
        assert_eq!((t.kind, t.namespace, t.name), (Kind::Pod, None, None));
        assert!(parse("/api/v1/watch/namespaces/a/pods").unwrap().watch);
        assert!(parse("/api/v1/pods/x").is_none());
        assert!(parse("/apis/apps/v1/namespaces/a/nothing").is_none());
        assert!(parse("/version").is_none());
    }
}
