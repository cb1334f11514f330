//! Turning `--manifests` arguments (files, directories, globs) into the files to read, in a
//! stable order, over a [`FileSystem`]: the native one (`std::fs`, in the `shiplog` CLI)
//! or the Node host's (the Action). Globs are matched here, so both behave the same.

/// Extensions read from directories and globs.
const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    File,
    Directory,
}

/// The file-system reads manifests need. Paths use `/` and are as the user wrote them
/// (relative to the working directory, or absolute).
pub trait FileSystem {
    /// What `path` is, or `None` when it does not exist.
    fn entry(&self, path: &str) -> Option<Entry>;
    /// Every file under `dir`, recursively, as paths starting with `dir`.
    fn walk(&self, dir: &str) -> Result<Vec<String>, String>;
    /// The content of the file at `path`.
    fn read(&self, path: &str) -> Result<Vec<u8>, String>;
}

/// An argument that names nothing readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("{0}: no such file or directory")]
    Missing(String),
    #[error("{0}: the pattern matches no manifest files")]
    NoMatch(String),
    #[error("{pattern}: not a valid glob pattern: {message}")]
    BadPattern { pattern: String, message: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// Splits arguments given as several lines (as workflow inputs are) into one per line.
pub fn lines(arguments: &[String]) -> Vec<String> {
    arguments
        .iter()
        .flat_map(|a| a.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The files named by `arguments`: a file as is, a directory's manifest files (recursively,
/// sorted), a glob's matches (sorted). Every file appears once, in first-mention order.
pub fn resolve(fs: &impl FileSystem, arguments: &[String]) -> Result<Vec<String>, SourceError> {
    let mut files: Vec<String> = Vec::new();
    for argument in lines(arguments) {
        let found = if is_glob(&argument) {
            glob_files(fs, &argument)?
        } else {
            match fs.entry(&argument) {
                Some(Entry::Directory) => directory_files(fs, &argument)?,
                Some(Entry::File) => vec![argument.clone()],
                None => return Err(SourceError::Missing(argument)),
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

/// Reads every file `arguments` name, as (name, content).
pub fn read_all(
    fs: &impl FileSystem,
    arguments: &[String],
) -> Result<Vec<(String, String)>, SourceError> {
    resolve(fs, arguments)?
        .into_iter()
        .map(|file| {
            let bytes = fs.read(&file).map_err(|message| SourceError::Io {
                path: file.clone(),
                message,
            })?;
            let text = String::from_utf8(bytes).map_err(|_| SourceError::Io {
                path: file.clone(),
                message: "not UTF-8 text".into(),
            })?;
            Ok((file, text))
        })
        .collect()
}

fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

fn is_manifest(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(stem, extension)| {
        !stem.ends_with('/')
            && MANIFEST_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())
    })
}

/// The directory a glob's matches are under: its path up to the first component with a
/// wildcard.
fn glob_base(pattern: &str) -> &str {
    let wildcard = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    match pattern[..wildcard].rfind('/') {
        Some(0) => "/",
        Some(slash) => &pattern[..slash],
        None => ".",
    }
}

fn glob_files(fs: &impl FileSystem, pattern: &str) -> Result<Vec<String>, SourceError> {
    let matcher = glob::Pattern::new(pattern).map_err(|e| SourceError::BadPattern {
        pattern: pattern.to_owned(),
        message: e.msg.to_owned(),
    })?;
    let options = glob::MatchOptions {
        require_literal_separator: true,
        require_literal_leading_dot: true,
        ..glob::MatchOptions::new()
    };
    let base = glob_base(pattern);
    let candidates = match fs.entry(base) {
        Some(Entry::Directory) => fs.walk(base).map_err(|message| SourceError::Io {
            path: base.to_owned(),
            message,
        })?,
        _ => Vec::new(),
    };
    let mut files: Vec<String> = candidates
        .into_iter()
        .map(|path| match (base, path.strip_prefix("./")) {
            (".", Some(relative)) => relative.to_owned(),
            _ => path,
        })
        .filter(|path| is_manifest(path) && matcher.matches_with(path, options))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(SourceError::NoMatch(pattern.to_owned()));
    }
    Ok(files)
}

fn directory_files(fs: &impl FileSystem, dir: &str) -> Result<Vec<String>, SourceError> {
    let mut files: Vec<String> = fs
        .walk(dir)
        .map_err(|message| SourceError::Io {
            path: dir.to_owned(),
            message,
        })?
        .into_iter()
        .filter(|path| is_manifest(path))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A file system in memory: paths to contents.
    struct Memory(BTreeMap<String, &'static str>);

    impl FileSystem for Memory {
        fn entry(&self, path: &str) -> Option<Entry> {
            let dir = format!("{}/", path.trim_end_matches('/'));
            if self.0.contains_key(path) {
                Some(Entry::File)
            } else if path == "." || self.0.keys().any(|k| k.starts_with(&dir)) {
                Some(Entry::Directory)
            } else {
                None
            }
        }

        fn walk(&self, dir: &str) -> Result<Vec<String>, String> {
            let prefix = format!("{}/", dir.trim_end_matches('/'));
            Ok(self
                .0
                .keys()
                .filter_map(|k| match dir {
                    "." => Some(format!("./{k}")),
                    _ => k.starts_with(&prefix).then(|| k.clone()),
                })
                .collect())
        }

        fn read(&self, path: &str) -> Result<Vec<u8>, String> {
            self.0
                .get(path)
                .map(|text| text.as_bytes().to_vec())
                .ok_or_else(|| "no such file".into())
        }
    }

    fn tree() -> Memory {
        Memory(
            [
                "k8s/b.yaml",
                "k8s/a.yml",
                "k8s/base/c.json",
                "k8s/README.md",
                "other.yaml",
            ]
            .into_iter()
            .map(|name| (name.to_owned(), "{}"))
            .collect(),
        )
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn files_directories_and_lines() {
        let files = resolve(&tree(), &args(&["k8s", "other.yaml\nk8s/b.yaml"])).unwrap();
        assert_eq!(
            files,
            ["k8s/a.yml", "k8s/b.yaml", "k8s/base/c.json", "other.yaml"]
        );
        assert_eq!(
            resolve(&tree(), &args(&["nope.yaml"])),
            Err(SourceError::Missing("nope.yaml".into()))
        );
    }

    #[test]
    fn globs_match_within_one_directory_level() {
        assert_eq!(
            resolve(&tree(), &args(&["k8s/*.y*ml"])).unwrap(),
            ["k8s/a.yml", "k8s/b.yaml"]
        );
        assert_eq!(
            resolve(&tree(), &args(&["k8s/**/*.json"])).unwrap(),
            ["k8s/base/c.json"]
        );
        assert_eq!(
            resolve(&tree(), &args(&["*.yaml"])).unwrap(),
            ["other.yaml"]
        );
        assert_eq!(
            resolve(&tree(), &args(&["k8s/*.txt"])),
            Err(SourceError::NoMatch("k8s/*.txt".into()))
        );
        assert!(matches!(
            resolve(&tree(), &args(&["k8s/[.yaml"])),
            Err(SourceError::BadPattern { .. })
        ));
    }

    #[test]
    fn reading_names_the_file() {
        let files = read_all(&tree(), &args(&["other.yaml"])).unwrap();
        assert_eq!(files, [("other.yaml".to_owned(), "{}".to_owned())]);
    }
}
