//! The Verilog generator of the systolic local-learning core (the issue "Verilog generator for
//! the systolic local-learning core"): askama templates (`templates/*.v`, `templates/tb_core.sv`)
//! filled with the values [`CoreParams`] computes from a [`Config`]. The core computes bit for bit
//! what the fixed-point golden model (`crate::golden`) computes; `docs/hardware.md` describes it
//! and `make cosim` checks it against the golden vectors of `floweqprop vectors`.
//!
//! [`render`] produces every file in memory; [`write_atomically`] puts them in place so that a
//! failure leaves nothing half-written.

pub mod manifest;
mod params;
mod templates;

pub use params::{
    hex, index_width, neuron_pipelines_keep_up, CoreParams, HOST_READ_LATENCY, PE_STAGES, PHASE_OVERHEAD,
};

use crate::config::Config;
use crate::error::Error;
use std::path::Path;

/// Every generated file of `config`'s core: `(file name, text)`, in a fixed order.
pub fn render(config: &Config) -> Result<Vec<(String, String)>, Error> {
    let c = CoreParams::new(config)?;
    templates::render_all(&c)
}

/// Writes `files` into the folder `out` atomically: everything goes to a temporary folder next
/// to `out`, which then replaces `out` (an existing `out` is removed only after that succeeded).
pub fn write_atomically(out: &Path, files: &[(String, String)]) -> Result<(), Error> {
    let parent = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "hdl".into());
    let tmp = parent.join(format!(".{name}.tmp{}", std::process::id()));
    let old = parent.join(format!(".{name}.old{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = (|| -> std::io::Result<()> {
        std::fs::create_dir(&tmp)?;
        for (file, text) in files {
            std::fs::write(tmp.join(file), text)?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::io(&tmp, e));
    }
    let had_old = out.exists();
    if had_old {
        std::fs::rename(out, &old).map_err(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            Error::io(out, e)
        })?;
    }
    if let Err(e) = std::fs::rename(&tmp, out) {
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::io(out, e));
    }
    if had_old {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str) -> Config {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("configs/{name}.yaml"));
        Config::from_yaml_file(&path).unwrap()
    }

    /// Any change to the generated Verilog of the tiny core shows up here for review.
    #[test]
    fn tiny_core_snapshot() {
        for (name, text) in render(&config("tiny")).unwrap() {
            insta::assert_snapshot!(format!("tiny__{name}"), text);
        }
    }

    #[test]
    fn every_config_renders_the_same_file_list() {
        for name in ["tiny", "small", "paper"] {
            let files = render(&config(name)).unwrap();
            let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, templates::FILES, "{name}");
            for (n, text) in &files {
                assert!(!text.contains("${") && !text.contains("}$"), "{name}/{n}: unrendered expression");
            }
        }
    }

    /// The Verilog committed under `hdl/` is what the templates render now (`make hdl`).
    #[test]
    fn committed_hdl_is_current() {
        for name in ["tiny", "small", "paper"] {
            for (file, text) in render(&config(name)).unwrap() {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("hdl").join(name).join(&file);
                let committed = std::fs::read_to_string(&path).unwrap_or_default();
                assert!(committed == text, "hdl/{name}/{file} is stale: run `make hdl`");
            }
        }
    }

    #[test]
    fn writes_atomically_and_replaces_an_old_folder() {
        let dir = std::env::temp_dir().join(format!("fep-hdl-{}", std::process::id()));
        let out = dir.join("core");
        let files = vec![("a.v".to_string(), "one".to_string())];
        write_atomically(&out, &files).unwrap();
        std::fs::write(out.join("stale.v"), "x").unwrap();
        write_atomically(&out, &[("b.v".to_string(), "two".to_string())]).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["b.v"]);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["core"], "no temporary folder left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
