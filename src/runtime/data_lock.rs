//! One process per `DATA_DIR`. Two bots on one directory would both run the jobs, both
//! write the database and the state files, and both identify to Discord. The first to
//! start holds an OS file lock on `DATA_DIR/clanhall.lock` (released by the OS when the
//! process exits or crashes) with its pid inside; a second refuses to start, naming it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// The lock file's name in `DATA_DIR`.
pub(crate) const LOCK_FILE: &str = "clanhall.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{path} is in use by another clanhall process ({holder}); stop it, or give this one its own DATA_DIR"
    )]
    Held { path: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}. Check that DATA_DIR is a writable directory")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub(crate) struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock on `data_dir` (creating the directory), or says who holds it.
    pub(crate) fn acquire(data_dir: &Path) -> Result<DataDirLock, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim().parse::<u32>() {
                    Ok(pid) => format!("pid {pid}"),
                    Err(_) => "pid unknown".to_owned(),
                };
                return Err(LockError::Held {
                    path: data_dir.to_path_buf(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        tracing::info!(path = %path.display(), pid = std::process::id(), "DATA_DIR locked for this process");
        Ok(DataDirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_dropping_releases_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let err = DataDirLock::acquire(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        assert!(DataDirLock::acquire(dir.path()).is_ok(), "released on drop");
    }
}
