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

/// Writes one file at `path` the same way: complete or not at all.
pub fn write_file(path: &Path, contents: String) -> miette::Result<PathBuf> {
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) if !d.as_os_str().is_empty() => (d, n),
        (_, Some(n)) => (Path::new("."), n),
        _ => return Err(miette::miette!("{} is not a file name", path.display())),
    };
    let file = File {
        name: name.to_string_lossy().into_owned(),
        contents,
    };
    let mut written = write_all(dir, &[file])?;
    Ok(written.remove(0))
}
