//! Writing a run's files so that a reader sees the old output or the new, whole, never a mix
//! and never a half-written file, and a run that fails or is killed leaves the old output as
//! it was.
//!
//! A run's folder is written as a fresh hidden sibling (`.NAME.PID.new`), synced, and then
//! swapped in: the old folder is renamed aside (`.NAME.PID.old`), the new one renamed into
//! its place, and the old one removed. Renames within a folder are atomic, so at any moment
//! the folder is the old one, the new one, or (between the two renames) absent. Leftovers
//! of a killed run are cleaned up by the next run into the same place, and an old folder
//! that was renamed aside but never replaced is put back. Because the whole folder is
//! replaced, a run only replaces a folder that holds nothing but a run's files.
//!
//! A single file (`score`, `simulate`) is written to a hidden temporary name in its folder
//! and renamed over the target, the same way.

use std::io::Write;
use std::path::{Path, PathBuf};

use miette::{miette, IntoDiagnostic, WrapErr};

use super::File;

/// What a run writes; a folder holding only files of these kinds may be replaced.
const EXTENSIONS: [&str; 7] = ["md", "csv", "json", "svg", "png", "pdf", "html"];

/// The hidden name of this process's temporary `kind` (`new`, `old`, `tmp`) of `name`.
fn temporary(parent: &Path, name: &str, kind: &str) -> PathBuf {
    parent.join(format!(".{name}.{}.{kind}", std::process::id()))
}

/// The process id and kind of a temporary of `name` named by [`temporary`], if `entry` is one.
fn parse_temporary<'a>(entry: &'a str, name: &str) -> Option<(u32, &'a str)> {
    let rest = entry
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?;
    let (pid, kind) = rest.split_once('.')?;
    Some((pid.parse().ok()?, kind))
}

/// Whether process `pid` may still be running (and writing its temporaries): where the
/// system lists its processes in `/proc`, whether it is listed; elsewhere it cannot be told,
/// so it is assumed to run and nothing is cleaned up.
fn running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || pid == std::process::id() || proc.join(pid.to_string()).exists()
}

/// Removes the temporaries of `name` in `parent` left by killed runs, and puts back an old
/// output folder a killed run had renamed aside without putting the new one in its place.
fn clean_up(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((pid, kind)) = parse_temporary(&file, name) else {
            continue;
        };
        if running(pid) {
            continue;
        }
        let path = entry.path();
        let target = parent.join(name);
        if kind == "old" && !target.exists() && std::fs::rename(&path, &target).is_ok() {
            continue;
        }
        let _ = match kind {
            "new" | "old" => std::fs::remove_dir_all(&path),
            "tmp" => std::fs::remove_file(&path),
            _ => Ok(()),
        };
    }
}

/// Whether `dir` holds only files of the kinds a run writes: a run may replace it whole.
/// Anything else (a subfolder, notes, a project's own files after a mistyped `--out`) keeps
/// it from being replaced.
fn replaceable(dir: &Path) -> std::io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        // Hidden `.tmp` files are what runs of earlier versions left when killed.
        let leftover = name.to_string_lossy().starts_with('.')
            && Path::new(&name).extension().is_some_and(|e| e == "tmp");
        let ours = entry.file_type()?.is_file()
            && (leftover
                || Path::new(&name)
                    .extension()
                    .is_some_and(|e| EXTENSIONS.iter().any(|x| e == *x)));
        if !ours {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Writes `files` as the folder `dir`, replacing what a run wrote there before; returns
/// their paths. Folders above `dir` are created as needed.
pub fn write_all(dir: &Path, files: &[File]) -> miette::Result<Vec<PathBuf>> {
    let (parent, name) = split(dir)?;
    std::fs::create_dir_all(parent)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create the folder {}", parent.display()))?;
    clean_up(parent, &name);
    if dir.exists() {
        let ok = dir.is_dir() && replaceable(dir).unwrap_or(false);
        if !ok {
            return Err(miette!(
                help = "a run replaces its output folder whole, so that it never holds a mix of \
                        old and new reports: choose a new --out, or remove the folder",
                "{} holds files a run did not write; nothing was written",
                dir.display()
            ));
        }
    }
    let staged = temporary(parent, &name, "new");
    let stage = || -> std::io::Result<()> {
        std::fs::create_dir(&staged)?;
        for f in files {
            let mut out = std::fs::File::create(staged.join(&f.name))?;
            out.write_all(&f.contents)?;
            out.sync_all()?;
        }
        Ok(())
    };
    if let Err(e) = stage() {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(e)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write the results into {}", dir.display()));
    }
    swap(&staged, dir, &temporary(parent, &name, "old"))
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot put the results into {}", dir.display()))?;
    Ok(files.iter().map(|f| dir.join(&f.name)).collect())
}

/// Puts the folder `staged` in the place of `dir`, moving an existing `dir` aside to `aside`
/// first and removing it after.
fn swap(staged: &Path, dir: &Path, aside: &Path) -> std::io::Result<()> {
    let existed = dir.exists();
    if existed {
        if let Err(e) = std::fs::rename(dir, aside) {
            let _ = std::fs::remove_dir_all(staged);
            return Err(e);
        }
    }
    if let Err(e) = std::fs::rename(staged, dir) {
        // Put the old output back: the failed run changes nothing.
        if existed {
            let _ = std::fs::rename(aside, dir);
        }
        let _ = std::fs::remove_dir_all(staged);
        return Err(e);
    }
    if existed {
        let _ = std::fs::remove_dir_all(aside);
    }
    Ok(())
}

/// The folder `path` is in (`.` for a bare name) and its last component.
fn split(path: &Path) -> miette::Result<(&Path, String)> {
    let name = path.file_name().ok_or_else(|| {
        miette!(
            help = "name the folder or file itself, e.g. --out results",
            "{} has no name of its own to write",
            path.display()
        )
    })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((parent, name.to_string_lossy().into_owned()))
}

/// Writes one file at `path`, complete or not at all. Its folder must exist: a mistyped path
/// is an error naming the missing folder, not a new tree of folders.
pub fn write_file(path: &Path, contents: &[u8]) -> miette::Result<PathBuf> {
    let (parent, name) = split(path)?;
    if !parent.is_dir() {
        return Err(miette!(
            "cannot write {}: the folder {} does not exist",
            path.display(),
            parent.display()
        ));
    }
    if path.is_dir() {
        return Err(miette!(
            help = "give the path of a file inside it",
            "cannot write {}: it is a folder",
            path.display()
        ));
    }
    clean_up(parent, &name);
    let temporary = temporary(parent, &name, "tmp");
    let written = (|| -> std::io::Result<()> {
        let mut out = std::fs::File::create(&temporary)?;
        out.write_all(contents)?;
        out.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::{parse_temporary, replaceable};

    #[test]
    fn a_folder_of_a_runs_kinds_of_file_may_be_replaced() {
        let dir = std::env::temp_dir().join(format!("mixspec-replaceable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "t.md", "t.csv", "t.json", "f.svg", "f.png", "f.pdf", "t.html",
        ] {
            std::fs::write(dir.join(name), "x").unwrap();
        }
        assert!(replaceable(&dir).unwrap());
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        assert!(!replaceable(&dir).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn temporaries_are_told_by_name_process_and_kind() {
        assert_eq!(parse_temporary(".out.123.new", "out"), Some((123, "new")));
        assert_eq!(
            parse_temporary(".a.b.csv.9.tmp", "a.b.csv"),
            Some((9, "tmp"))
        );
        assert_eq!(parse_temporary(".outer.1.new", "out"), None);
        assert_eq!(parse_temporary("out.1.new", "out"), None);
        assert_eq!(parse_temporary(".out.x.new", "out"), None);
    }
}
