//! The layers of `docs/architecture.md`: every module imports only modules listed before it
//! there (so no import circle can form between them), and every module of `src/` is listed.
//!
//! The order comes from the document's `layers` block, one layer a line (`name: unit unit ...`,
//! continued on lines without a name), bottom first. A unit is a module path (`config::fixed`);
//! a file belongs to the longest listed path that is its module or an ancestor of it. Imports
//! are the paths a file's code names (`crate::`, `super::`, `self::`, and paths through a module
//! name it declares or imports), before its `#[cfg(test)] mod` tests; comments are not imports.

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

/// `code` without its unit tests (from `#[cfg(test)] mod ...` on) and without comment lines.
fn library_code(code: &str) -> String {
    let mut end = code.len();
    let mut from = 0;
    while let Some(i) = code[from..].find("#[cfg(test)]") {
        let at = from + i;
        if code[at + "#[cfg(test)]".len()..].trim_start().starts_with("mod ") {
            end = at;
            break;
        }
        from = at + 1;
    }
    code[..end].lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// `line` without a leading `pub` or `pub(...)`.
fn unpub(line: &str) -> &str {
    let l = line.trim();
    match l.strip_prefix("pub") {
        Some(r) if r.starts_with('(') => r[r.find(')').map_or(0, |i| i + 1)..].trim_start(),
        Some(r) if r.starts_with(' ') => r.trim_start(),
        _ => l,
    }
}

/// The start of every `word` in `code` that is a whole identifier and not the tail of a longer
/// path (`a::word`), with what follows it.
fn path_starts<'a>(code: &'a str, word: &str) -> Vec<&'a str> {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    code.match_indices(word).filter(|(i, _)| !code[..*i].ends_with(ident)).map(|(i, _)| &code[i..]).collect()
}

/// The module paths `code` (a file of module `module`) imports: every `crate::`, `super::` and
/// `self::` path, and every path through a module name the file declares (`mod child;`) or
/// imports (`use crate::a::b;`), in `use` lines and in expressions alike.
fn imports(module: &str, code: &str) -> BTreeSet<String> {
    let code = library_code(code);
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p).to_string();
    let mut out = BTreeSet::new();
    for (base, prefix) in [("crate::", ""), ("super::", parent.as_str()), ("self::", module)] {
        for rest in path_starts(&code, base) {
            paths(prefix, &rest[base.len()..], &mut out);
        }
    }
    // names that stand for modules: `mod child;` and `use crate::a::b;` (lowercase: a module)
    let mut names: Vec<(String, String)> = Vec::new();
    for line in code.lines().map(unpub) {
        if let Some(child) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
            let full = if module.is_empty() { child.to_string() } else { format!("{module}::{child}") };
            names.push((child.to_string(), full));
        }
        if let Some(used) = line.strip_prefix("use ").and_then(|l| l.strip_suffix(';')) {
            let mut one = BTreeSet::new();
            for (base, prefix) in [("crate::", ""), ("super::", parent.as_str()), ("self::", module)] {
                if let Some(rest) = used.strip_prefix(base) {
                    paths(prefix, rest, &mut one);
                }
            }
            let name = used.rsplit("::").next().unwrap_or("");
            if one.len() == 1 && name.starts_with(|c: char| c.is_ascii_lowercase()) {
                names.push((name.to_string(), one.into_iter().next().unwrap()));
            }
        }
    }
    for (name, full) in names {
        let prefix = full.rsplit_once("::").map_or("", |(p, _)| p);
        for rest in path_starts(&code, &format!("{name}::")) {
            paths(prefix, rest, &mut out);
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
        path = match seg.as_str() {
            "super" => path.rsplit_once("::").map_or(String::new(), |(p, _)| p.to_string()),
            _ => join(&path, &seg),
        };
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
                    let why = format!("src/{rel}: {unit} imports {t}, which sits above it");
                    if !bad.contains(&why) {
                        bad.push(why);
                    }
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
            let code = library_code(code);
            let word = |w: &str| {
                code.match_indices(w).any(|(i, _)| {
                    let ident = |c: char| c.is_alphanumeric() || c == '_';
                    !code[..i].ends_with(ident) && !code[i + w.len()..].starts_with(ident)
                })
            };
            below(rel) && (word("clap") || word("indicatif"))
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
        ("config/fixed.rs".to_string(), "use clap as cli;".to_string()),
        ("error.rs".to_string(), "// clap: not here\nfn clapper() {}".to_string()),
        ("commands/mod.rs".to_string(), "use clap::Parser;\nuse indicatif::ProgressBar;".to_string()),
    ];
    assert_eq!(
        terminal_crates_below_commands(&order, &files),
        ["src/config/mod.rs uses clap or indicatif", "src/config/fixed.rs uses clap or indicatif"]
    );
}

#[test]
fn the_layer_check_finds_an_upward_import_a_stray_module_and_a_circle() {
    let order = layer_order("```layers\nlow: error config\nhigh: arith\n      arith::float\n```\n");
    assert_eq!(order, ["error", "config", "arith", "arith::float"]);
    let file = |rel: &str, code: &str| (rel.to_string(), code.to_string());
    let fine = [
        file(
            "config/mod.rs",
            "use crate::error::Error;\n#[cfg(test)]\nmod tests {\n    use crate::arith::Arith;\n}",
        ),
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
    // the forms an import can take: after a test-only helper, an expression through a declared
    // or imported module name, `pub(crate) use`, `super::super::`
    let up = "src/config/mod.rs: config imports arith, which sits above it";
    for code in [
        "#[cfg(test)]\nfn helper() {}\nuse crate::arith::Arith;",
        "use crate::arith;\nfn f() { arith::run(); }",
        "pub(crate) use crate::arith::Arith;",
        "fn f() { crate::arith::run() }",
    ] {
        assert_eq!(violations(&order, &[file("config/mod.rs", code)]), [up], "{code}");
    }
    let up = "src/arith/mod.rs: arith imports arith::float, which sits above it";
    for code in
        ["pub mod float;\nfn f() { float::run(); }", "pub(crate) mod float;\npub use self::{float::F};"]
    {
        assert_eq!(violations(&order, &[file("arith/mod.rs", code)]), [up], "{code}");
    }
    let twice = [file("arith/float.rs", "use super::super::config::Config;")];
    assert_eq!(violations(&order, &twice), Vec::<String>::new());
    let stray = [file("plot.rs", "use crate::error::Error;"), file("io.rs", "use crate::plot::Line;")];
    assert_eq!(
        violations(&order, &stray),
        ["src/plot.rs: module plot is in no layer", "src/io.rs: module io is in no layer"]
    );
}
