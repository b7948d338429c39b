//! Writing a run's files so that a reader never sees a half-written one and a failed run
//! leaves nothing behind: every file goes to a temporary name in the output folder first,
//! and only when all are complete are they renamed into place.

use std::io::Write;
use std::path::{Path, PathBuf};

use miette::{IntoDiagnostic, WrapErr};

use super::File;

/// Writes `files` into `dir`, creating it if needed; returns their paths.
pub fn write_all(dir: &Path, files: &[File]) -> miette::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create the output folder {}", dir.display()))?;
    let temporary = |f: &File| dir.join(format!(".{}.{}.tmp", f.name, std::process::id()));
    let staged: std::io::Result<()> = files.iter().try_for_each(|f| {
        let mut out = std::fs::File::create(temporary(f))?;
        out.write_all(f.contents.as_bytes())?;
        out.sync_all()
    });
    let renamed = staged.and_then(|()| {
        files
            .iter()
            .try_for_each(|f| std::fs::rename(temporary(f), dir.join(&f.name)))
    });
    if renamed.is_err() {
        for f in files {
            let _ = std::fs::remove_file(temporary(f));
        }
    }
    renamed
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write the results into {}", dir.display()))?;
    Ok(files.iter().map(|f| dir.join(&f.name)).collect())
}
