//! Writing a run's files so that a reader never sees a half-written one and a failed run
//! leaves nothing behind: every file goes to a temporary name in the output folder first,
//! and only when all are complete are they renamed into place.

use std::io::Write;
use std::path::{Path, PathBuf};

use miette::{IntoDiagnostic, WrapErr};

use super::File;

/// Writes `files` into `dir`, creating it if needed; returns their paths.
pub fn write_all(dir: &Path, files: &[File]) -> miette::Result<Vec<PathBuf>> {
    let named: Vec<(&str, &[u8])> = files
        .iter()
        .map(|f| (f.name.as_str(), f.contents.as_bytes()))
        .collect();
    write_named(dir, &named)
}

/// Writes each (file name, contents) into `dir`: all staged, then all renamed.
fn write_named(dir: &Path, files: &[(&str, &[u8])]) -> miette::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create the output folder {}", dir.display()))?;
    let temporary = |name: &str| dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let staged: std::io::Result<()> = files.iter().try_for_each(|(name, contents)| {
        let mut out = std::fs::File::create(temporary(name))?;
        out.write_all(contents)?;
        out.sync_all()
    });
    let renamed = staged.and_then(|()| {
        files
            .iter()
            .try_for_each(|(name, _)| std::fs::rename(temporary(name), dir.join(name)))
    });
    if renamed.is_err() {
        for (name, _) in files {
            let _ = std::fs::remove_file(temporary(name));
        }
    }
    renamed
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write the results into {}", dir.display()))?;
    Ok(files.iter().map(|(name, _)| dir.join(name)).collect())
}

/// Writes one file at `path` the same way: complete or not at all.
pub fn write_file(path: &Path, contents: &[u8]) -> miette::Result<PathBuf> {
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) if !d.as_os_str().is_empty() => (d, n),
        (_, Some(n)) => (Path::new("."), n),
        _ => return Err(miette::miette!("{} is not a file name", path.display())),
    };
    let mut written = write_named(dir, &[(&name.to_string_lossy(), contents)])?;
    Ok(written.remove(0))
}
