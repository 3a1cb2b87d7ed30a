//! The database files hold private signing keys and webhook secrets: they are created
//! owner-only (0600), and an older installation's world-readable files are tightened at start.
//! SQLite creates `-wal` and `-shm` with the database file's permissions, so they follow.

use crate::StoreError;
use std::path::Path;

#[cfg(unix)]
pub fn protect(path: &Path) -> Result<(), StoreError> {
    use std::fs::{OpenOptions, Permissions};
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if !path.exists() {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| StoreError::Backend(format!("creating {}: {e}", path.display())))?;
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        if meta.permissions().mode() & 0o077 != 0 {
            match std::fs::set_permissions(&file, Permissions::from_mode(0o600)) {
                Ok(()) => {
                    tracing::info!(file = %file.display(), "made the database file owner-only (0600)")
                }
                Err(e) => tracing::warn!(file = %file.display(), error = %e,
                    "the database file is readable by others and could not be made owner-only"),
            }
        }
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn protect(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}
