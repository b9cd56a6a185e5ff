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

/// Refuses an existing `out` that is not a folder, naming it and the flag (`--out`) that chose
/// it; a command calls this before any work, so a wrong path costs nothing.
pub fn check_folder_target(out: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(out) {
        Ok(m) if !m.is_dir() => {
            Err(Error::invalid("--out", out.display(), "exists and is not a folder; choose a folder"))
        }
        _ => Ok(()),
    }
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
/// Errors: an existing `out` that is not a folder (before anything is written), or the I/O error
/// with its path; `out` then still holds its old contents.
pub fn replace_folder<S: AsRef<[u8]>>(out: &Path, files: &[(String, S)]) -> Result<(), Error> {
    replace_folder_steps(out, files, true, None)
}

const TMP: &str = "tmp";
const OLD: &str = "old";

/// [`replace_folder`], stopping dead after step `kill_after` (counted from 1 over every file
/// system change) when it is set: how the tests kill it at each step. `try_exchange: false`
/// takes the fallback of step 3.
fn replace_folder_steps<S: AsRef<[u8]>>(
    out: &Path,
    files: &[(String, S)],
    try_exchange: bool,
    kill_after: Option<usize>,
) -> Result<(), Error> {
    check_folder_target(out)?;
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
    let write = || -> std::io::Result<()> {
        std::fs::create_dir(&tmp)?;
        for (file, bytes) in files {
            let mut f = std::fs::File::create(tmp.join(file))?;
            f.write_all(bytes.as_ref())?;
            f.sync_all()?;
        }
        sync_folder(&tmp)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::io(&tmp, e));
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
fn remove_stale_siblings(parent: &Path, name: &str) -> std::io::Result<()> {
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

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // signal 0 checks existence only; EPERM means it exists under another user
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
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
                replace_folder(&out, &files("old", 3)).unwrap();
                replace_folder_steps(&out, &files("new", 4), exchange, Some(kill)).unwrap();
                // a reader right after the kill; two renames leave one gap, healed by the next run
                let now = if out.exists() { version(&out) } else { None };
                if exchange || now.is_some() {
                    assert!(now.is_some(), "{swap} killed after step {kill}: {:?}", names(&out));
                }
                seen.push(now);
                remove_stale_siblings(&dir, "vec").unwrap();
                assert!(version(&out).is_some(), "{swap} after step {kill}, cleaned: {:?}", names(&dir));
                replace_folder(&out, &files("new", 4)).unwrap();
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
        replace_folder(&out, &files("old", 3)).unwrap();
        let bad =
            vec![("f0.txt".to_string(), "x".to_string()), ("no/such/dir.txt".to_string(), "y".to_string())];
        let e = replace_folder(&out, &bad).unwrap_err().to_string();
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
        let e = replace_folder(&out, &files("new", 4)).unwrap_err().to_string();
        assert!(e.contains("--out") && e.contains("not a folder"), "{e}");
        assert_eq!(std::fs::read(&out).unwrap(), b"user's file");
        assert_eq!(names(&dir), ["g"]);
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
        replace_folder(&dir.join("vec"), &files("new", 4)).unwrap();
        assert_eq!(
            names(&dir),
            [format!(".vec.tmp-{parent_pid}"), format!(".vecs.tmp-{dead}"), "vec".into()]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
