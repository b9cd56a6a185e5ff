//! The layers of `docs/architecture.md`: every module imports only modules listed before it
//! there (so no import circle can form between them), and every module of `src/` is listed.
//!
//! The order comes from the document's `layers` block, one layer a line (`name: unit unit ...`,
//! continued on lines without a name), bottom first. A unit is a module path (`config::fixed`); a file belongs to the longest listed
//! path that is its module or an ancestor of it. Imports are the `crate::` and `super::` paths in a
//! file's code before its `#[cfg(test)]` tests (comments and doc links are not imports).

use std::collections::BTreeSet;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The units of the `layers` block of `doc`, bottom first.
fn layer_order(doc: &str) -> Vec<String> {
    let block = doc.split("```layers\n").nth(1).expect("docs/architecture.md has a ```layers block");
    let block = &block[..block.find("```").expect("the layers block is closed")];
    // a line may start with the layer's name (`name:`); a line without one continues the layer
    block.split_whitespace().filter(|w| !w.ends_with(':')).map(str::to_string).collect()
}

/// The module path of a source file (`src/arith/mod.rs` -> `arith`, `src/config/fixed.rs` ->
/// `config::fixed`).
fn module_path(rel: &str) -> String {
    let p = rel.trim_end_matches(".rs").trim_end_matches("/mod");
    p.replace('/', "::")
}

/// The listed unit a module path belongs to.
fn unit_of<'a>(order: &'a [String], path: &str) -> Option<&'a String> {
    order.iter().filter(|u| path == u.as_str() || path.starts_with(&format!("{u}::"))).max_by_key(|u| u.len())
}

/// The module paths `code` (a file of module `module`) imports.
fn imports(module: &str, code: &str) -> BTreeSet<String> {
    let code: String = code
        .split("#[cfg(test)]")
        .next()
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p).to_string();
    let mut out = BTreeSet::new();
    // `use child::X` and `use self::child::X` of a module's own `mod child;`
    let children: Vec<&str> = code
        .lines()
        .filter_map(|l| l.trim().trim_start_matches("pub ").strip_prefix("mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .collect();
    for (i, line) in code.lines().enumerate().map(|(i, l)| (i, l.trim())) {
        let Some(used) = line.trim_start_matches("pub ").strip_prefix("use ") else { continue };
        let used = used.trim_start_matches("self::");
        if children.iter().any(|c| used.starts_with(&format!("{c}::"))) {
            let rest: String = code.lines().skip(i).collect::<Vec<_>>().join("\n");
            let at = rest.find(used).unwrap();
            paths(module, &rest[at..], &mut out);
        }
    }
    for (base, prefix) in [("crate::", String::new()), ("super::", parent)] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(base) {
            let preceded = rest[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
            rest = &rest[i + base.len()..];
            if !preceded {
                paths(&prefix, rest, &mut out);
            }
        }
    }
    out
}

/// Adds the module paths that `text` (what follows `crate::`) names, relative to `prefix`;
/// `a::{b::C, d}` names `a::b` and `a::d`.
fn paths(prefix: &str, text: &str, out: &mut BTreeSet<String>) {
    let join = |a: &str, b: &str| if a.is_empty() { b.to_string() } else { format!("{a}::{b}") };
    let mut path = prefix.to_string();
    let mut rest = text;
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += (c == '{') as i32 - (c == '}') as i32;
                    depth == 0
                })
                .map_or(group.len(), |(i, _)| i);
            let mut depth = 0;
            let mut start = 0;
            let inner = &group[..end];
            for (i, c) in inner.char_indices().chain([(inner.len(), ',')]) {
                depth += (c == '{') as i32 - (c == '}') as i32;
                if c == ',' && depth == 0 {
                    paths(&path, inner[start..i].trim(), out);
                    start = i + 1;
                }
            }
            return;
        }
        let seg: String =
            rest.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
        if seg.is_empty() || seg == "self" {
            break;
        }
        path = join(&path, &seg);
        rest = &rest[seg.len()..];
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    if !path.is_empty() {
        out.insert(path);
    }
}

/// Every import that goes upwards in `order` (or to no listed unit), and every file of no unit:
/// `files` are `(path under src/, code)`.
fn violations(order: &[String], files: &[(String, String)]) -> Vec<String> {
    let rank = |u: &String| order.iter().position(|o| o == u).unwrap();
    let mut bad = Vec::new();
    for (rel, code) in files {
        let module = module_path(rel);
        let Some(unit) = unit_of(order, &module) else {
            bad.push(format!("src/{rel}: module {module} is in no layer"));
            continue;
        };
        for target in imports(&module, code) {
            match unit_of(order, &target) {
                Some(t) if rank(t) > rank(unit) => {
                    bad.push(format!("src/{rel}: {unit} imports {t}, which sits above it"))
                }
                Some(_) => {}
                None => bad.push(format!("src/{rel}: imports {target}, which is in no layer")),
            }
        }
    }
    bad
}

fn library_files(dir: &Path, rel: &str, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let r = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        if p.is_dir() {
            library_files(&p, &r, out);
        } else if name.ends_with(".rs") && r != "lib.rs" && r != "main.rs" {
            out.push((r, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/architecture.md")).unwrap();
    let order = layer_order(&doc);
    assert!(order.len() > 20, "{order:?}");
    let mut files = Vec::new();
    library_files(&Path::new(ROOT).join("src"), "", &mut files);
    let bad = violations(&order, &files);
    assert!(bad.is_empty(), "imports against docs/architecture.md's layers:\n{}", bad.join("\n"));
}

/// Modules below the `commands` layer that name a command-line or terminal crate.
fn terminal_crates_below_commands(order: &[String], files: &[(String, String)]) -> Vec<String> {
    let commands = order.iter().position(|u| u.starts_with("commands")).expect("a commands layer");
    let below = |rel: &str| unit_of(order, &module_path(rel)).is_some_and(|u| order[..commands].contains(u));
    files
        .iter()
        .filter(|(rel, code)| {
            let code = code.split("#[cfg(test)]").next().unwrap();
            below(rel) && ["clap::", "indicatif::"].iter().any(|c| code.contains(c))
        })
        .map(|(rel, _)| format!("src/{rel} uses clap or indicatif"))
        .collect()
}

#[test]
fn only_the_commands_know_clap_and_indicatif() {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/architecture.md")).unwrap();
    let order = layer_order(&doc);
    let mut files = Vec::new();
    library_files(&Path::new(ROOT).join("src"), "", &mut files);
    assert_eq!(terminal_crates_below_commands(&order, &files), Vec::<String>::new());
    let order = layer_order("```layers\nlow: config\ncommands: commands\n```\n");
    let files = [
        ("config/mod.rs".to_string(), "#[derive(clap::ValueEnum)]\nenum A {}".to_string()),
        ("commands/mod.rs".to_string(), "use clap::Parser;\nuse indicatif::ProgressBar;".to_string()),
    ];
    assert_eq!(terminal_crates_below_commands(&order, &files), ["src/config/mod.rs uses clap or indicatif"]);
}

#[test]
fn the_layer_check_finds_an_upward_import_a_stray_module_and_a_circle() {
    let order = layer_order("```layers\nlow: error config\nhigh: arith\n      arith::float\n```\n");
    assert_eq!(order, ["error", "config", "arith", "arith::float"]);
    let file = |rel: &str, code: &str| (rel.to_string(), code.to_string());
    let fine = [
        file("config/mod.rs", "use crate::error::Error;\n#[cfg(test)]\nuse crate::arith::Arith;"),
        file("arith/float.rs", "use super::{Arith, Saved};\nuse crate::{config::Config, error};"),
        file(
            "arith/mod.rs",
            "//! [`crate::arith::float::Float`]\nuse crate::config::{self, sections::X};\nmod float;",
        ),
    ];
    assert_eq!(violations(&order, &fine), Vec::<String>::new());
    let upward = [file("config/fixed.rs", "use crate::{error::Error,\n    arith::float::Float};")];
    assert_eq!(
        violations(&order, &upward),
        ["src/config/fixed.rs: config imports arith::float, which sits above it"]
    );
    // a circle needs an upward arrow: arith -> arith::float is fine, the way back is not
    let circle = [
        file("arith/mod.rs", "pub use crate::arith::float::Float;"),
        file("arith/float.rs", "use super::Arith;"),
    ];
    assert_eq!(
        violations(&order, &circle),
        ["src/arith/mod.rs: arith imports arith::float, which sits above it"]
    );
    let child = [file("arith/mod.rs", "pub mod float;\n\npub use float::{\n    Dense, Float,\n};")];
    assert_eq!(
        violations(&order, &child),
        ["src/arith/mod.rs: arith imports arith::float, which sits above it"]
    );
    let stray = [file("plot.rs", "use crate::error::Error;"), file("io.rs", "use crate::plot::Line;")];
    assert_eq!(
        violations(&order, &stray),
        ["src/plot.rs: module plot is in no layer", "src/io.rs: module io is in no layer"]
    );
}
