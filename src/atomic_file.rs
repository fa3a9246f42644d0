//! Crash-safe files on disk: every state file the bot owns outside SQLite (restart budget,
//! bot access lists, live-queue cache, retention reports) is written through here.
//!
//! A write goes to a temporary file in the same directory, is flushed to disk, then
//! renamed over the target and the directory is synced, so a reader (or the next boot
//! after a crash) sees either the old content or the new, never half of each.
//! A file that cannot be parsed is moved aside, never overwritten, so an operator can
//! still recover what it held.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not valid JSON ({source}); it was moved to {quarantined} and left for you to inspect"
    )]
    Corrupt {
        path: PathBuf,
        quarantined: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot encode {path}: {source}")]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A file that parses badly or holds values this build cannot use, kept where it is
    /// (so the next start finds it too) with a copy beside it for inspection.
    #[error(
        "{path} cannot be used ({reason}); it stays in place until it is repaired, and a copy is kept at {copy}"
    )]
    Unusable {
        path: PathBuf,
        reason: String,
        copy: PathBuf,
    },
    /// The blocking-pool task doing the file work failed (it panicked or was cancelled).
    #[error("file worker failed: {0}")]
    Worker(String),
}

/// Replaces `path` with `bytes` atomically (temp file + fsync + rename + dir fsync).
pub(crate) fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|source| FileError::CreateDir {
        path: dir.clone(),
        source,
    })?;
    let werr = |source| FileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(werr)
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), FileError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| FileError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    write_bytes(path, &bytes)
}

/// Reads a JSON file. `Ok(None)` when it does not exist. A file that exists but does not
/// parse is renamed to `<name>.corrupt-<timestamp>` and reported as [`FileError::Corrupt`]:
/// the caller decides whether to start fresh, and the bytes are kept either way.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, FileError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(FileError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(v) => Ok(Some(v)),
        Err(source) => {
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
            let quarantined = PathBuf::from(format!("{}.corrupt-{stamp}", path.display()));
            fs::rename(path, &quarantined).map_err(|source| FileError::Write {
                path: quarantined.clone(),
                source,
            })?;
            Err(FileError::Corrupt {
                path: path.to_path_buf(),
                quarantined,
                source,
            })
        }
    }
}

/// Copies `path` to `<name>.corrupt-<timestamp>` beside it, unless a copy with the same
/// bytes is already there (so a crash loop does not fill the disk with copies). Returns
/// the copy's path.
pub(crate) fn keep_copy(path: &Path) -> Result<PathBuf, FileError> {
    let bytes = fs::read(path).map_err(|source| FileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = format!("{name}.corrupt-");
    if let Ok(entries) = fs::read_dir(&dir) {
        for e in entries.flatten() {
            let same_name = e.file_name().to_string_lossy().starts_with(&prefix);
            if same_name && fs::read(e.path()).is_ok_and(|b| b == bytes) {
                return Ok(e.path());
            }
        }
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let copy = dir.join(format!("{prefix}{stamp}"));
    fs::write(&copy, &bytes).map_err(|source| FileError::Write {
        path: copy.clone(),
        source,
    })?;
    Ok(copy)
}

/// Reads a JSON file without touching it: `Ok(None)` when it does not exist, `Err` with
/// why it cannot be used otherwise (for `clanhall check`, which changes nothing).
pub(crate) fn peek_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, String> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("not valid JSON for this file ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct S {
        n: u32,
    }

    #[test]
    fn write_then_read_round_trips_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nested/state.json");
        write_json(&p, &S { n: 1 }).unwrap();
        write_json(&p, &S { n: 2 }).unwrap();
        assert_eq!(read_json::<S>(&p).unwrap(), Some(S { n: 2 }));
        let names: Vec<_> = fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    }

    #[test]
    fn missing_file_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_json::<S>(&dir.path().join("nope.json")).unwrap(), None);
    }

    #[test]
    fn corrupt_file_is_quarantined_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        fs::write(&p, b"{\"n\": 1,,,").unwrap();
        let err = read_json::<S>(&p).unwrap_err();
        let FileError::Corrupt { quarantined, .. } = &err else {
            panic!("expected Corrupt, got {err}");
        };
        assert!(!p.exists());
        assert_eq!(fs::read(quarantined).unwrap(), b"{\"n\": 1,,,");
        assert!(err.to_string().contains("moved to"));
    }
}
