//! The native [`FileSystem`]: `std::fs`.

use std::path::Path;

use shiplog_engine::sources::{Entry, FileSystem};

/// The local file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalFiles;

impl FileSystem for LocalFiles {
    fn entry(&self, path: &str) -> Option<Entry> {
        let metadata = std::fs::metadata(path).ok()?;
        Some(if metadata.is_dir() {
            Entry::Directory
        } else {
            Entry::File
        })
    }

    fn walk(&self, dir: &str) -> Result<Vec<String>, String> {
        let mut files = Vec::new();
        walk_into(Path::new(dir), &mut files)?;
        Ok(files)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| e.to_string())
    }
}

fn walk_into(dir: &Path, files: &mut Vec<String>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            walk_into(&path, files)?;
        } else {
            files.push(path.display().to_string());
        }
    }
    Ok(())
}
