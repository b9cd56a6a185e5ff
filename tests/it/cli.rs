//! The command line: bad input gets an error that names the file, field and value.

use std::process::Command;

fn floweqprop(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_floweqprop")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("fep-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn unknown_config_field_is_named_with_the_file() {
    let cfg = write_temp("unknown.yaml", "relax:\n  spring: 3\n");
    let (ok, err) = floweqprop(&["train", "--config", cfg.to_str().unwrap(), "--out", "/tmp/never"]);
    assert!(!ok);
    assert!(err.contains("unknown.yaml") && err.contains("spring"), "{err}");
    assert!(!std::path::Path::new("/tmp/never").exists(), "nothing written on bad input");
}

#[test]
fn diverging_step_size_is_rejected_before_training() {
    let cfg = write_temp("beta.yaml", "relax:\n  beta: 0.01\n");
    let (ok, err) = floweqprop(&["train", "--config", cfg.to_str().unwrap(), "--out", "/tmp/never"]);
    assert!(!ok);
    assert!(err.contains("relax.eps") && err.contains("< 2"), "{err}");
}

#[test]
fn missing_checkpoint_is_named() {
    let (ok, err) = floweqprop(&["sample", "--checkpoint", "/nonexistent/ck.json", "--png", "/tmp/x.png"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/ck.json"), "{err}");
}

#[test]
fn help_lists_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_floweqprop")).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["train", "sample", "plot-loss", "bench"] {
        assert!(text.contains(cmd), "{text}");
    }
}

#[test]
fn eval_scores_a_samples_csv_beside_the_reference_rows() {
    let digits = floweqprop::dataset::Digits::embedded();
    let rows: String = (1..40)
        .step_by(2)
        .map(|i| digits.image(i).iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    let csv = write_temp("real.csv", &rows);
    let out = Command::new(env!("CARGO_BIN_EXE_floweqprop"))
        .args(["eval", "--samples", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for row in ["real.csv", "real held-out", "gmm-10 full", "uniform noise", "held-out accuracy"] {
        assert!(text.contains(row), "missing {row}: {text}");
    }
    let bad = write_temp("short.csv", "0.1,0.2\n");
    let (ok, err) = floweqprop(&["eval", "--samples", bad.to_str().unwrap()]);
    assert!(!ok && err.contains("short.csv") && err.contains("line 1"), "{err}");
}
