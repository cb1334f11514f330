//! Turning `--manifests` arguments (files, directories, globs) into the files to read, in a
//! stable order. Native only: the GitHub Action resolves paths through its Node host.

use std::path::{Path, PathBuf};

/// Extensions read from directories and globs.
const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// An argument that names nothing readable.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}: no such file or directory")]
    Missing(String),
    #[error("{0}: the pattern matches no manifest files")]
    NoMatch(String),
    #[error("{pattern}: not a valid glob pattern: {message}")]
    BadPattern { pattern: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The files named by `arguments`: a file as is, a directory's manifest files (recursively,
/// sorted), a glob's matches (sorted). Every file appears once, in first-mention order.
pub fn resolve(arguments: &[String]) -> Result<Vec<PathBuf>, SourceError> {
    let mut files = Vec::new();
    for argument in arguments
        .iter()
        .flat_map(|a| a.lines())
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        let found = if is_glob(argument) {
            glob_files(argument)?
        } else {
            let path = Path::new(argument);
            if path.is_dir() {
                directory_files(path)?
            } else if path.is_file() {
                vec![path.to_path_buf()]
            } else {
                return Err(SourceError::Missing(argument.to_owned()));
            }
        };
        for file in found {
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn glob_files(pattern: &str) -> Result<Vec<PathBuf>, SourceError> {
    let paths = glob::glob(pattern).map_err(|e| SourceError::BadPattern {
        pattern: pattern.to_owned(),
        message: e.msg.to_owned(),
    })?;
    let mut files: Vec<PathBuf> = paths
        .filter_map(Result::ok)
        .filter(|p| p.is_file() && is_manifest(p))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(SourceError::NoMatch(pattern.to_owned()));
    }
    Ok(files)
}

fn directory_files(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let io = |source| SourceError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(directory_files(&path)?);
        } else if is_manifest(&path) {
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_directories_and_globs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("k8s/base")).unwrap();
        for name in [
            "k8s/b.yaml",
            "k8s/a.yml",
            "k8s/base/c.json",
            "k8s/README.md",
            "other.yaml",
        ] {
            std::fs::write(root.join(name), "{}").unwrap();
        }
        let arg = |p: &str| root.join(p).display().to_string();
        let files = resolve(&[
            arg("k8s"),
            format!("{}\n{}", arg("other.yaml"), arg("k8s/b.yaml")),
        ])
        .unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            ["k8s/a.yml", "k8s/b.yaml", "k8s/base/c.json", "other.yaml"]
        );

        let globbed = resolve(&[arg("k8s/*.y*ml")]).unwrap();
        assert_eq!(globbed.len(), 2);
        assert!(matches!(
            resolve(&[arg("nope.yaml")]),
            Err(SourceError::Missing(_))
        ));
        assert!(matches!(
            resolve(&[arg("k8s/*.txt")]),
            Err(SourceError::NoMatch(_))
        ));
    }
}
