//! Test fixtures of the report modules: scratch folders and the `stat -json` files that
//! `make synth` would write.

use super::yosys::Target;
use crate::choice::Choice;
use crate::config::Config;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fep-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub(crate) fn stat(cells: serde_json::Value) -> Value {
    let total: u64 = cells.as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    json!({"modules": {"\\core": {}}, "design": {"num_cells": total, "num_cells_by_type": cells}})
}

/// What synth/yosys.sh keeps of the RTL it read: the tiny core's files, for every target.
pub(crate) fn keep_rtl(dir: &Path, cfg: &Config) {
    for &t in Target::ALL {
        let kept = dir.join(format!("{}_rtl", t.name()));
        std::fs::create_dir_all(&kept).unwrap();
        for (name, text) in crate::hdl::render(cfg).unwrap() {
            std::fs::write(kept.join(name), text).unwrap();
        }
    }
}

pub(crate) fn write_stats(dir: &Path) {
    keep_rtl(dir, &Config::shipped("tiny"));
    std::fs::write(
        dir.join("generic_cmos.json"),
        json!({"design": {"num_cells": 1000, "num_cells_by_type": {}, "estimated_num_transistors": "5400+"}})
            .to_string(),
    )
    .unwrap();
    std::fs::write(dir.join("generic_stat.json"), stat(json!({"$_AND_": 900, "$_DFF_P_": 100})).to_string())
        .unwrap();
    std::fs::write(
        dir.join("xc7_stat.json"),
        stat(json!({"LUT6": 300, "FDRE": 100, "DSP48E1": 16})).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("ice40_stat.json"),
        stat(json!({"SB_LUT4": 9000, "SB_DFF": 100, "SB_MAC16": 16})).to_string(),
    )
    .unwrap();
}
