//! File and folder output that never leaves a half-written result behind: a reader (or a later
//! run) finds the old version or the new one, complete, whatever point a failure or a kill hits.
//!
//! Every command that writes a whole folder (`hdl`, `vectors`) goes through [`replace_folder`];
//! single files go through [`atomic_write`]. Both write a temporary sibling named
//! `.NAME.tmp-PID` first; siblings left by runs that died are removed by the next write of
//! the same target.

use crate::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over the target. A reader sees the old file or the new one, never a mix.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let (dir, name) = parent_and_name(path);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    remove_stale_siblings(&dir, &name).map_err(|e| Error::io(&dir, e))?;
    let tmp = sibling(&dir, &name, TMP, std::process::id());
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Refuses, before any work, an `--out` folder a command cannot replace: a path without a name
/// of its own (`.`, `..`, `/`), an existing non-folder, or (with `marker`, the file every
/// output of the command holds) a non-empty folder without `marker`: files the command did not
/// write, which replacing the folder would delete.
pub fn check_folder_target(out: &Path, marker: Option<&str>) -> Result<(), Error> {
    let refuse = |why: &str| Err(Error::invalid("--out", out.display(), why));
    if out.file_name().is_none() {
        return refuse("name a folder of its own (the output replaces it whole)");
    }
    match std::fs::symlink_metadata(out) {
        Ok(m) if !m.is_dir() => refuse("exists and is not a folder; choose a folder"),
        Ok(_) => match marker {
            Some(marker) if !out.join(marker).exists() && !is_empty_folder(out) => refuse(&format!(
                "holds files this command did not write (no {marker}), which replacing it would delete; \
                 choose a new or empty folder"
            )),
            _ => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

/// The memory this machine can still give (Linux `MemAvailable`), in bytes; `None` elsewhere.
pub fn available_memory() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kib| kib * 1024.0)
}

/// Refuses, before any work, a request (`flag` and its `value`) whose output needs more than
/// the available memory (`bytes`, estimated), with both sizes.
pub fn check_fits_memory(flag: &str, value: impl ToString, bytes: f64) -> Result<(), Error> {
    match available_memory() {
        Some(avail) if bytes > avail => Err(Error::invalid(
            flag,
            value,
            &format!(
                "needs {:.1} GB of memory, and this machine has {:.1} GB available",
                bytes / 1e9,
                avail / 1e9
            ),
        )),
        _ => Ok(()),
    }
}

/// Refuses, before any work, an output file path `flag` names that is an existing folder.
pub fn check_file_target(path: &Path, flag: &str) -> Result<(), Error> {
    match path.is_dir() || path.file_name().is_none() {
        true => Err(Error::invalid(flag, path.display(), "is a folder; give a file name")),
        false => Ok(()),
    }
}

fn is_empty_folder(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

/// Replaces the folder `out` by one holding exactly `files` (`(file name, contents)`):
///
/// 1. remove the temporary siblings of dead runs (restoring an old folder a dead run had moved
///    aside, if `out` is missing);
/// 2. write every file into `.NAME.tmp-PID`, each flushed to disk, then the folder itself;
/// 3. swap it with `out` in one step (Linux `renameat2(RENAME_EXCHANGE)`; where the file system
///    cannot exchange, `out` moves aside to `.NAME.old-PID` and is moved back on any failure);
/// 4. remove the old folder.
///
/// Errors: what [`check_folder_target`] refuses (`marker` is the name of one of `files`),
/// before anything is written, or the I/O error with its path; `out` then still holds its old
/// contents.
pub fn replace_folder<S: AsRef<[u8]>>(out: &Path, files: &[(String, S)], marker: &str) -> Result<(), Error> {
    check_folder_target(out, Some(marker))?;
    replace_folder_steps(out, |tmp| write_files(tmp, files), true, None)
}

/// [`replace_folder`] for output too large to hold in memory: `fill` writes the files into the
/// new folder (its argument, empty) as they come, flushing each to disk ([`synced_file`]); the
/// swap happens only if it succeeds. Its error is returned with `out` unchanged.
pub fn replace_folder_with(
    out: &Path,
    marker: &str,
    fill: impl FnOnce(&Path) -> Result<(), Error>,
) -> Result<(), Error> {
    check_folder_target(out, Some(marker))?;
    replace_folder_steps(out, fill, true, None)
}

/// A file of a folder that [`replace_folder_with`] fills: written through a buffer and flushed
/// to disk when [`SyncedFile::finish`] is called.
pub struct SyncedFile {
    path: PathBuf,
    w: std::io::BufWriter<std::fs::File>,
}

/// Creates `path` for writing ([`SyncedFile`]).
pub fn synced_file(path: &Path) -> Result<SyncedFile, Error> {
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(SyncedFile { path: path.to_path_buf(), w: std::io::BufWriter::new(f) })
}

impl SyncedFile {
    /// Appends `bytes` (text or not).
    pub fn write(&mut self, bytes: impl AsRef<[u8]>) -> Result<(), Error> {
        self.w.write_all(bytes.as_ref()).map_err(|e| Error::io(&self.path, e))
    }

    /// Flushes the buffer and the file to disk.
    pub fn finish(self) -> Result<(), Error> {
        let path = self.path;
        let f = self.w.into_inner().map_err(|e| Error::io(&path, e.into_error()))?;
        f.sync_all().map_err(|e| Error::io(&path, e))
    }
}

/// Writes `files` into the folder `dir`, each flushed to disk.
fn write_files<S: AsRef<[u8]>>(dir: &Path, files: &[(String, S)]) -> Result<(), Error> {
    for (file, bytes) in files {
        let mut f = synced_file(&dir.join(file))?;
        f.write(bytes)?;
        f.finish()?;
    }
    Ok(())
}

const TMP: &str = "tmp";
const OLD: &str = "old";

/// [`replace_folder`], stopping dead after step `kill_after` (counted from 1 over every file
/// system change) when it is set: how the tests kill it at each step. `try_exchange: false`
/// takes the fallback of step 3.
fn replace_folder_steps(
    out: &Path,
    fill: impl FnOnce(&Path) -> Result<(), Error>,
    try_exchange: bool,
    kill_after: Option<usize>,
) -> Result<(), Error> {
    let (parent, name) = parent_and_name(out);
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let mut step = 0;
    let mut killed = || {
        step += 1;
        kill_after == Some(step)
    };
    remove_stale_siblings(&parent, &name).map_err(|e| Error::io(&parent, e))?;
    if killed() {
        return Ok(());
    }
    let pid = std::process::id();
    let tmp = sibling(&parent, &name, TMP, pid);
    let write = || -> Result<(), Error> {
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        fill(&tmp)?;
        sync_folder(&tmp).map_err(|e| Error::io(&tmp, e))
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if killed() {
        return Ok(());
    }
    if !out.exists() {
        std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
        return sync_folder(&parent).map_err(|e| Error::io(&parent, e));
    }
    // the old contents end up in `gone`, removed last
    let gone = match try_exchange && exchange(&tmp, out).is_ok() {
        true => tmp,
        false => {
            let old = sibling(&parent, &name, OLD, pid);
            std::fs::rename(out, &old).map_err(|e| Error::io(out, e))?;
            if killed() {
                return Ok(());
            }
            if let Err(e) = std::fs::rename(&tmp, out) {
                let _ = std::fs::rename(&old, out);
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(Error::io(out, e));
            }
            old
        }
    };
    sync_folder(&parent).map_err(|e| Error::io(&parent, e))?;
    if killed() {
        return Ok(());
    }
    std::fs::remove_dir_all(&gone).map_err(|e| Error::io(&gone, e))
}

fn parent_and_name(path: &Path) -> (PathBuf, String) {
    let parent = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    (parent, name)
}

fn sibling(parent: &Path, name: &str, kind: &str, pid: u32) -> PathBuf {
    parent.join(format!(".{name}.{kind}-{pid}"))
}

/// Removes `.NAME.tmp-PID` and `.NAME.old-PID` in `parent` whose process is gone (or is this
/// one: it is not writing `NAME` now); an old folder comes back to `NAME` if `NAME` is missing.
pub(crate) fn remove_stale_siblings(parent: &Path, name: &str) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some((kind, pid)) = file_name
            .strip_prefix(&format!(".{name}."))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(kind, pid)| Some((kind, pid.parse::<u32>().ok()?)))
        else {
            continue;
        };
        if !(kind == TMP || kind == OLD) || (pid != std::process::id() && process_alive(pid)) {
            continue;
        }
        let path = entry.path();
        let target = parent.join(name);
        if kind == OLD && !target.exists() {
            std::fs::rename(&path, &target)?;
        } else if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Whether the process `pid` exists.
#[cfg(unix)]
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // signal 0 checks existence only; EPERM means it exists under another user
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
pub(crate) fn process_alive(_pid: u32) -> bool {
    true // no way to tell: keep the sibling
}

/// Swaps two paths in one atomic step.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    let rc = unsafe {
        libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE)
    };
    match rc {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Flushes a folder's entries (the names of the files in it) to disk.
fn sync_folder(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fep-io-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    /// The id of a process that has exited.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        child.id()
    }

    fn files(tag: &str, n: usize) -> Vec<(String, String)> {
        (0..n).map(|i| (format!("f{i}.txt"), format!("{tag} {i}\n"))).collect()
    }

    /// The folder holds exactly one of the two versions, every file complete.
    fn version(dir: &Path) -> Option<&'static str> {
        let listed = names(dir);
        for (tag, n) in [("old", 3), ("new", 4)] {
            let want = files(tag, n);
            if listed == want.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>()
                && want.iter().all(|(f, t)| std::fs::read_to_string(dir.join(f)).unwrap() == *t)
            {
                return Some(tag);
            }
        }
        None
    }

    #[test]
    fn atomic_write_replaces_content_and_leaves_no_temporary() {
        let dir = scratch("file");
        let path = dir.join("a.txt");
        atomic_write(&path, b"one").unwrap();
        std::fs::write(dir.join(format!(".a.txt.tmp-{}", dead_pid())), b"dead run's").unwrap();
        atomic_write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(names(&dir), ["a.txt"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A folder filled as it goes: a failed fill leaves the old folder and no sibling; a
    /// successful one replaces it.
    #[test]
    fn replace_folder_with_swaps_only_after_a_whole_fill() {
        let dir = scratch("with");
        let out = dir.join("out");
        replace_folder(&out, &files("old", 3), "f0.txt").unwrap();
        let failed = replace_folder_with(&out, "f0.txt", |tmp| {
            let mut f = synced_file(&tmp.join("f0.txt"))?;
            f.write("half")?;
            Err(Error::invalid("--epochs", 1, "stopped"))
        });
        assert!(failed.unwrap_err().to_string().contains("stopped"));
        assert_eq!(version(&out), Some("old"));
        assert_eq!(names(&dir), ["out"]);
        replace_folder_with(&out, "f0.txt", |tmp| {
            for (name, text) in files("new", 4) {
                let mut f = synced_file(&tmp.join(name))?;
                f.write(&text)?;
                f.finish()?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(version(&out), Some("new"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A kill after each step, with either swap: `out` holds the old or the new version whole,
    /// and the next write leaves no sibling behind.
    #[test]
    fn a_kill_at_any_step_leaves_old_or_new_and_the_next_run_cleans_up() {
        for exchange in [true, false] {
            let swap = if exchange { "exchange" } else { "two renames" };
            let mut seen = Vec::new();
            for kill in 1..=5 {
                let dir = scratch(&format!("kill{kill}{exchange}"));
                let out = dir.join("vec");
                replace_folder(&out, &files("old", 3), "f0.txt").unwrap();
                let new = files("new", 4);
                replace_folder_steps(&out, |tmp| write_files(tmp, &new), exchange, Some(kill)).unwrap();
                // a reader right after the kill; two renames leave one gap, healed by the next run
                let now = if out.exists() { version(&out) } else { None };
                if exchange || now.is_some() {
                    assert!(now.is_some(), "{swap} killed after step {kill}: {:?}", names(&out));
                }
                seen.push(now);
                remove_stale_siblings(&dir, "vec").unwrap();
                assert!(version(&out).is_some(), "{swap} after step {kill}, cleaned: {:?}", names(&dir));
                replace_folder(&out, &files("new", 4), "f0.txt").unwrap();
                assert_eq!(names(&dir), ["vec"], "{swap} after step {kill}");
                assert_eq!(version(&out), Some("new"));
                std::fs::remove_dir_all(&dir).unwrap();
            }
            // the kills reach both sides of the swap
            assert!(seen.contains(&Some("old")) && seen.contains(&Some("new")), "{swap}: {seen:?}");
        }
    }

    #[test]
    fn a_failed_write_keeps_the_old_folder() {
        let dir = scratch("fail");
        let out = dir.join("vec");
        replace_folder(&out, &files("old", 3), "f0.txt").unwrap();
        let bad =
            vec![("f0.txt".to_string(), "x".to_string()), ("no/such/dir.txt".to_string(), "y".to_string())];
        let e = replace_folder(&out, &bad, "f0.txt").unwrap_err().to_string();
        assert!(e.contains(".vec.tmp-"), "{e}");
        assert_eq!(version(&out), Some("old"));
        assert_eq!(names(&dir), ["vec"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_in_the_way_is_refused_untouched() {
        let dir = scratch("file-in-way");
        let out = dir.join("g");
        std::fs::write(&out, b"user's file").unwrap();
        let e = replace_folder(&out, &files("new", 4), "f0.txt").unwrap_err().to_string();
        assert!(e.contains("--out") && e.contains("not a folder"), "{e}");
        assert_eq!(std::fs::read(&out).unwrap(), b"user's file");
        assert_eq!(names(&dir), ["g"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A folder of other files is not replaced (hdl replaced a folder holding a thesis and a
    /// source tree with 11 Verilog files); nor can the output be the current folder.
    #[test]
    fn a_folder_of_other_files_and_an_unnamed_path_are_refused() {
        let dir = scratch("foreign");
        let out = dir.join("proj");
        std::fs::create_dir_all(out.join("src")).unwrap();
        std::fs::write(out.join("thesis.tex"), "mine").unwrap();
        let e = replace_folder(&out, &files("new", 4), "f0.txt").unwrap_err().to_string();
        assert!(e.contains("--out") && e.contains("no f0.txt") && e.contains("new or empty folder"), "{e}");
        assert_eq!(names(&out), ["src", "thesis.tex"]);
        let e = check_folder_target(Path::new("."), Some("f0.txt")).unwrap_err().to_string();
        assert!(e.contains("--out: .:") && e.contains("name a folder"), "{e}");
        let e = check_file_target(&dir, "--png").unwrap_err().to_string();
        assert!(e.contains("--png") && e.contains("is a folder"), "{e}");
        std::fs::remove_dir_all(out.join("src")).unwrap();
        std::fs::remove_file(out.join("thesis.tex")).unwrap();
        replace_folder(&out, &files("new", 4), "f0.txt").unwrap(); // empty: taken
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn siblings_of_live_runs_and_other_names_are_kept() {
        let dir = scratch("live");
        let parent_pid = std::os::unix::process::parent_id(); // alive: it runs the tests
        let dead = dead_pid();
        for n in [format!(".vec.tmp-{parent_pid}"), format!(".vec.tmp-{dead}"), format!(".vecs.tmp-{dead}")] {
            std::fs::create_dir(dir.join(n)).unwrap();
        }
        replace_folder(&dir.join("vec"), &files("new", 4), "f0.txt").unwrap();
        assert_eq!(
            names(&dir),
            [format!(".vec.tmp-{parent_pid}"), format!(".vecs.tmp-{dead}"), "vec".into()]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
