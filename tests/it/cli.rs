//! The command line: bad input gets an error that names the file, field and value.

use std::process::Command;

fn floweqprop(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_floweqprop")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Ctrl-C to a child process (SIGINT).
fn interrupt(child: &std::process::Child) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0, "kill -INT {pid}");
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
    // the OS error once, not again as a cause
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    let (ok, err) = floweqprop(&["train", "--config", "/nonexistent/c.yaml", "--out", "/tmp/never"]);
    assert!(!ok && err.contains("/nonexistent/c.yaml"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn samples_beyond_the_memory_are_refused_before_any_work() {
    let n = "100000000000"; // 51 TB of noise
    let (ok, err) =
        floweqprop(&["sample", "--checkpoint", "/nonexistent/ck.json", "--n", n, "--png", "/tmp/x.png"]);
    assert!(!ok && err.contains("--n: 100000000000") && err.contains("GB of memory"), "{err}");
    let (ok, err) = floweqprop(&["eval", "--checkpoint", "/nonexistent/ck.json", "--n", n]);
    assert!(!ok && err.contains("--n: 100000000000") && err.contains("GB of memory"), "{err}");
}

#[test]
fn help_lists_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_floweqprop")).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["train", "sample", "plot-loss", "bench", "hdl"] {
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
    // a non-finite value is named with its line and column
    let mut lines: Vec<String> = rows.lines().map(str::to_string).collect();
    let mut fields: Vec<&str> = lines[3].split(',').collect();
    fields[2] = "nan";
    lines[3] = fields.join(",");
    let nan = write_temp("nan.csv", &(lines.join("\n") + "\n"));
    let (ok, err) = floweqprop(&["eval", "--samples", nan.to_str().unwrap()]);
    assert!(!ok && err.contains("line 4, column 3") && err.contains("nan"), "{err}");
    // --png draws the samples read; the generation flags are refused beside them
    let png = std::env::temp_dir().join(format!("fep-cli-{}-eval.png", std::process::id()));
    let (ok, err) = floweqprop(&["eval", "--samples", csv.to_str().unwrap(), "--png", png.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    for flag in [["--t1", "1.0"], ["--mode", "energy"], ["--sweep-t1", "1.0"]] {
        let (ok, err) = floweqprop(&["eval", "--samples", csv.to_str().unwrap(), flag[0], flag[1]]);
        assert!(!ok && err.contains(flag[0]) && err.contains("--samples"), "{flag:?}: {err}");
    }
}

#[test]
fn hdl_writes_the_core_or_names_the_field_and_writes_nothing() {
    let dir = std::env::temp_dir().join(format!("fep-cli-hdl-{}", std::process::id()));
    let out = dir.join("tiny");
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    let (ok, err) = floweqprop(&["hdl", "--config", tiny, "--out", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.contains("1.2466x the ideal"), "{err}");
    assert!(out.join("core.v").exists() && out.join("tb_core.sv").exists());

    let text = std::fs::read_to_string(tiny).unwrap().replace("index_bits: 10", "index_bits: 15");
    let cfg = write_temp("lut15.yaml", &text);
    let bad = dir.join("bad");
    let (ok, err) = floweqprop(&["hdl", "--config", cfg.to_str().unwrap(), "--out", bad.to_str().unwrap()]);
    assert!(!ok && err.contains("fixed.lut.index_bits") && err.contains("15"), "{err}");
    assert!(!bad.exists(), "nothing written on a refused config");

    let small = concat!(env!("CARGO_MANIFEST_DIR"), "/testvectors/small");
    let (ok, err) =
        floweqprop(&["hdl", "--config", tiny, "--out", bad.to_str().unwrap(), "--vectors", small]);
    assert!(!ok && err.contains("manifest.json") && err.contains("dims.n_h1"), "{err}");
    assert!(!bad.exists(), "nothing written on vectors of another core");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The simulation targets say what is missing when Verilator is not installed (they failed with
/// a bare `Error 1`, the reason in a log).
#[test]
fn make_targets_without_verilator_say_so() {
    for target in ["cosim", "cosim-selftest", "hdl-unit", "lint-hdl"] {
        let out = Command::new("make")
            .args(["-s", target, "VERILATOR=no-such-verilator"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{target}: {text}");
        assert!(
            text.contains("needs Verilator") && text.contains("apt-get install verilator"),
            "{target}: {text}"
        );
    }
}

/// Without a terminal, training prints progress at a steady interval of time, not only at the
/// checkpoints (a log showed minutes of silence).
#[test]
fn training_to_a_log_prints_progress_between_checkpoints() {
    let out = std::env::temp_dir().join(format!("fep-cli-{}-log", std::process::id()));
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    let args = ["train", "--config", cfg, "--epochs", "3", "--checkpoint-every", "50", "--out"];
    let (ok, err) = floweqprop(&[&args[..], &[out.to_str().unwrap(), "--log-every", "0"]].concat());
    assert!(ok, "{err}");
    for line in ["epoch 1/3: loss", "epoch 2/3: loss", "epoch 3/3: loss"] {
        assert!(err.contains(line), "{line}: {err}");
    }
    std::fs::remove_dir_all(&out).unwrap();
    let (ok, err) = floweqprop(&[&args[..], &[out.to_str().unwrap()]].concat());
    assert!(ok && !err.contains("epoch 1/3") && err.contains("epoch 3/3"), "{err}");
    std::fs::remove_dir_all(&out).unwrap();
}

/// A new run never lands silently in a folder that holds another: it is refused before any
/// work (naming --resume and --overwrite), a file is refused as --out, and --overwrite replaces
/// the old run's files, so its checkpoint cannot be resumed beside the new run's.
#[test]
fn a_new_run_does_not_overwrite_another_unasked() {
    let dir = std::env::temp_dir().join(format!("fep-cli-{}-claim", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    let train = |epochs: &str, extra: &[&str]| {
        let args = ["train", "--config", cfg, "--epochs", epochs, "--out", dir.to_str().unwrap()];
        floweqprop(&[&args[..], extra].concat())
    };
    assert!(train("2", &[]).0);
    let (ok, err) = train("1", &[]);
    assert!(
        !ok && err.contains("--resume") && err.contains("--overwrite") && !err.contains("training 1 epochs"),
        "{err}"
    );
    let (ok, err) = train("1", &["--overwrite"]);
    assert!(ok, "{err}");
    let ck = floweqprop::checkpoint::Checkpoint::load(&dir.join("checkpoint.json")).unwrap();
    assert_eq!(ck.epochs_done, 1);
    let file = dir.join("loss.csv");
    let (ok, err) = floweqprop(&["train", "--config", cfg, "--epochs", "1", "--out", file.to_str().unwrap()]);
    assert!(!ok && err.contains("not a folder"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every command that writes a folder refuses an existing file as `--out` before any work,
/// leaving the file as it was and no temporary sibling (hdl moved the file aside, then failed;
/// vectors left a hidden folder of 33 files).
#[test]
fn a_file_as_the_output_folder_is_refused_untouched() {
    let dir = std::env::temp_dir().join(format!("fep-cli-{}-outfile", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("g");
    std::fs::write(&file, "the user's file").unwrap();
    let (f, tiny) = (file.to_str().unwrap(), concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml"));
    for args in [
        vec!["hdl", "--config", tiny, "--out", f],
        vec!["vectors", "--config", tiny, "--out", f],
        vec!["sweep", "--config", tiny, "--epochs", "1", "--widths", "12", "--out", f],
    ] {
        let (ok, err) = floweqprop(&args);
        assert!(
            !ok && err.contains("--out") && err.contains(f) && err.contains("not a folder"),
            "{args:?}: {err}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "the user's file", "{args:?}");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["g"], "{args:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `vectors` over an existing set replaces it whole (the old files do not survive beside the
/// new), and a temporary folder of a killed run is removed by the next one.
#[test]
fn vectors_replace_the_old_set_and_clear_a_dead_runs_debris() {
    let dir = std::env::temp_dir().join(format!("fep-cli-{}-vecs", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("vec");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("stale.hex"), "0\n").unwrap();
    std::fs::write(out.join("manifest.json"), "{}\n").unwrap(); // an old vector set
    let mut child = Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    let debris = dir.join(format!(".vec.tmp-{}", child.id()));
    std::fs::create_dir_all(&debris).unwrap();
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    let (ok, err) =
        floweqprop(&["vectors", "--config", tiny, "--out", out.to_str().unwrap(), "--steps", "1"]);
    assert!(ok, "{err}");
    assert!(out.join("manifest.json").exists() && !out.join("stale.hex").exists());
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["vec"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Ctrl-C stops training at the end of the epoch with a checkpoint and says how to resume
/// (it exited 130 without a word, and before the first checkpoint left nothing to resume).
#[test]
fn an_interrupted_run_writes_a_checkpoint_and_says_how_to_resume() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("fep-cli-{}-sigint", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_floweqprop"))
        .args(["train", "--config", cfg, "--epochs", "1000", "--log-every", "0", "--out", d])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines().map(Result::unwrap);
    assert!(lines.by_ref().any(|l| l.starts_with("epoch 2/1000")), "no progress line");
    interrupt(&child);
    let rest: Vec<String> = lines.collect();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest:?}");
    let last = rest.last().unwrap();
    assert!(
        last.starts_with("interrupted after epoch") && last.contains(&format!("--resume {d}")),
        "{rest:?}"
    );
    let ck = floweqprop::checkpoint::Checkpoint::load(&dir.join("checkpoint.json")).unwrap();
    assert!(ck.epochs_done >= 2 && ck.epochs_done < 1000, "{}", ck.epochs_done);
    assert!(last.contains(&format!("epoch {} of 1000", ck.epochs_done)), "{last}");
    let more = (ck.epochs_done + 1).to_string();
    let (ok, err) = floweqprop(&["train", "--resume", d, "--epochs", &more]);
    assert!(ok && err.contains(&format!("epoch {more}/{more}")), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--resume` refuses a folder without a checkpoint (it failed with a bare "No such file or
/// directory") and one whose files come from different runs.
#[test]
fn resume_refuses_files_that_do_not_belong_together() {
    let base = std::env::temp_dir().join(format!("fep-cli-{}-mixed", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (a, b) = (base.join("a"), base.join("b"));
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    for (dir, seed) in [(&a, "0"), (&b, "1")] {
        let args =
            ["train", "--config", cfg, "--epochs", "2", "--seed", seed, "--out", dir.to_str().unwrap()];
        assert!(floweqprop(&args).0);
    }
    let resume =
        |dir: &std::path::Path| floweqprop(&["train", "--resume", dir.to_str().unwrap(), "--epochs", "3"]);
    let empty = base.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (ok, err) = resume(&empty);
    assert!(!ok && err.contains("--resume") && err.contains("no checkpoint.json"), "{err}");
    for file in ["config.yaml", "loss.csv"] {
        let keep = std::fs::read(a.join(file)).unwrap();
        std::fs::copy(b.join(file), a.join(file)).unwrap();
        let (ok, err) = resume(&a);
        assert!(!ok && err.contains(file) && err.contains("different runs"), "{file}: {err}");
        std::fs::write(a.join(file), keep).unwrap();
    }
    let (ok, err) = resume(&a);
    assert!(ok, "{err}");
    std::fs::remove_dir_all(&base).unwrap();
}

/// Every command checks a config for its use before any work and names the file: a constant
/// format that cannot hold relax.k was refused by `train --arith fixed` only after its banner
/// and without the file, and accepted by `hdl`.
#[test]
fn a_config_is_checked_for_its_use_before_any_work() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml"))
        .unwrap()
        .replace("constant: {width: 32, frac: 20}", "constant: {width: 12, frac: 8}");
    let cfg = write_temp("narrow-constant.yaml", &text);
    let c = cfg.to_str().unwrap();
    let out = std::env::temp_dir().join(format!("fep-cli-{}-never", std::process::id()));
    let o = out.to_str().unwrap();
    for args in [
        vec!["train", "--arith", "fixed", "--config", c, "--epochs", "1", "--out", o],
        vec!["hdl", "--config", c, "--out", o],
        vec!["vectors", "--config", c, "--out", o],
        vec!["sweep", "--config", c, "--epochs", "1", "--widths", "16", "--out", o],
    ] {
        let (ok, err) = floweqprop(&args);
        assert!(
            !ok && err.contains(c) && err.contains("fixed.constant") && err.contains("relax.k = 15"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("training") && !out.exists(), "{args:?}: {err}");
    }
    // float training does not use the fixed-point formats
    let (ok, err) = floweqprop(&["train", "--config", c, "--epochs", "1", "--out", o]);
    assert!(ok, "{err}");
    std::fs::remove_dir_all(&out).unwrap();
}

/// `report` without a synthesis gives the cycle model (it failed on `ice40_pnr.json`), each
/// target naming the command that synthesizes it and its clock marked as assumed.
#[test]
fn report_without_synthesis_gives_the_cycle_model() {
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    let none = std::env::temp_dir().join(format!("fep-cli-{}-nosynth", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_floweqprop"))
        .args(["report", "--config", tiny, "--synth-dir", none.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // 12167 + 128 + (580895 + 7) / 1797: the phases, the host writes, a clipped Adam UPDATE and
    // its constant writes a batch
    assert!(text.contains("Cycles per training sample: 12618.3"), "{text}");
    assert_eq!(text.matches("make synth CONFIG=tiny").count(), 3, "{text}");
    assert!(text.contains("100 assumed") && !none.exists(), "{text}");
}

/// A sweep stops the same way: the running point checkpoints at its epoch's end, and the message
/// says that the same command continues (it exited 130 without a word).
#[test]
fn an_interrupted_sweep_says_the_same_command_continues() {
    let dir = std::env::temp_dir().join(format!("fep-cli-{}-sweepint", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    let args =
        ["sweep", "--config", cfg, "--epochs", "1000", "--widths", "12", "--out", dir.to_str().unwrap()];
    let child = Command::new(env!("CARGO_BIN_EXE_floweqprop"))
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the first point's run has started (the handler is installed before it)
    let started = dir.join("adam-float").join("config.yaml");
    let t0 = std::time::Instant::now();
    while !started.exists() && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("adam-float") && err.contains("the same sweep command continues"), "{err}");
    let ck = floweqprop::checkpoint::Checkpoint::load(&dir.join("adam-float/checkpoint.json")).unwrap();
    assert!(ck.epochs_done >= 1 && ck.epochs_done < 1000);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Outputs are checked before any work (eval ran 2 minutes, sample 4, before failing on a
/// folder given as a file; hdl replaced a folder of the user's files; vectors --out . failed
/// after its work and left debris).
#[test]
fn outputs_are_checked_before_any_work() {
    let dir = std::env::temp_dir().join(format!("fep-cli-{}-outs", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let proj = dir.join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(proj.join("thesis.tex"), "mine").unwrap();
    let (d, p) = (dir.to_str().unwrap(), proj.to_str().unwrap());
    let ck = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/results/paper/checkpoint.json");
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    for (args, want) in [
        (vec!["eval", "--checkpoint", ck, "--out", d], "--out"),
        (vec!["eval", "--checkpoint", ck, "--png", d], "--png"),
        (vec!["sample", "--checkpoint", ck, "--csv", d], "--csv"),
        (vec!["plot-loss", "--csv", "x.csv", "--png", d], "--png"),
    ] {
        let t0 = std::time::Instant::now();
        let (ok, err) = floweqprop(&args);
        assert!(!ok && err.contains(want) && err.contains("is a folder"), "{args:?}: {err}");
        assert!(t0.elapsed().as_secs() < 10, "{args:?} worked before refusing");
    }
    let (ok, err) = floweqprop(&["sample", "--checkpoint", ck, "--png", "x.png", "--cols", "0"]);
    assert!(!ok && err.contains("--cols 0"), "{err}");
    // the generation flags are resolved before the classifier trains
    let out = Command::new(env!("CARGO_BIN_EXE_floweqprop"))
        .args(["eval", "--checkpoint", ck, "--sweep-t1=1,-2"])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        !out.status.success() && stderr.contains("--sweep-t1") && stderr.contains("generate.t1"),
        "{stderr}"
    );
    assert!(!stdout.contains("classifier"), "{stdout}");
    let (ok, err) = floweqprop(&["eval", "--samples", "/nonexistent/s.csv", "--n", "5"]);
    assert!(!ok && err.contains("--n") && err.contains("--samples"), "{err}");
    let (ok, err) = floweqprop(&["eval", "--samples", "/nonexistent/s.csv"]);
    assert!(!ok && err.contains("/nonexistent/s.csv") && !err.contains("classifier"), "{err}");
    for cmd in ["hdl", "vectors"] {
        let (ok, err) = floweqprop(&[cmd, "--config", tiny, "--out", p]);
        assert!(!ok && err.contains("did not write") && err.contains(p), "{cmd}: {err}");
        assert_eq!(std::fs::read_to_string(proj.join("thesis.tex")).unwrap(), "mine");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_floweqprop"))
        .args(["vectors", "--config", tiny, "--out", "."])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--out: .:") && err.contains("name a folder"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["proj"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A run folder is one run's: a second train is refused while one trains there (both had
/// written it, and the resume they advised failed); a dead run's temporary file does not make
/// the folder "another run"; resume names a missing folder and a damaged loss.csv.
#[test]
fn a_run_folder_belongs_to_one_live_run() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("fep-cli-{}-lock", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    let mut first = Command::new(env!("CARGO_BIN_EXE_floweqprop"))
        .args(["train", "--config", cfg, "--epochs", "1000", "--log-every", "0", "--out", d])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(first.stderr.take().unwrap()).lines().map(Result::unwrap);
    assert!(lines.by_ref().any(|l| l.starts_with("epoch 1/1000")));
    let (ok, err) = floweqprop(&["train", "--config", cfg, "--epochs", "2", "--out", d, "--overwrite"]);
    assert!(!ok && err.contains(&format!("process {}", first.id())), "{err}");
    let (ok, err) = floweqprop(&["train", "--resume", d]);
    assert!(!ok && err.contains("is training in it"), "{err}");
    interrupt(&first);
    lines.for_each(drop);
    assert_eq!(first.wait().unwrap().code(), Some(130));

    let csv = dir.join("loss.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, text.lines().take(1).collect::<Vec<_>>().join("\n")).unwrap();
    let (ok, err) = floweqprop(&["train", "--resume", d]);
    assert!(!ok && err.contains("loss.csv has 0 epochs") && err.contains("damaged"), "{err}");
    let (ok, err) = floweqprop(&["train", "--resume", &format!("{d}-none")]);
    assert!(!ok && err.contains("no such folder"), "{err}");

    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let mut dead = Command::new("true").spawn().unwrap();
    dead.wait().unwrap();
    std::fs::write(dir.join(format!(".config.yaml.tmp-{}", dead.id())), "partial").unwrap();
    let (ok, err) = floweqprop(&["train", "--config", cfg, "--epochs", "1", "--out", d]);
    assert!(ok, "{err}");
    let mut left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["checkpoint.json", "config.yaml", "loss.csv", "loss.png"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `vectors` refuses, before any work, a run whose files cannot fit in memory (--gen-samples
/// 100000000 aborted in an allocation; --gen-steps 100000000 grew without bound).
#[test]
fn vectors_beyond_the_memory_are_refused_up_front() {
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tiny.yaml");
    for (flag, named) in [
        ("--gen-samples", "--gen-samples and --gen-steps"),
        ("--gen-steps", "--gen-samples and --gen-steps"),
        ("--steps", "--steps"),
    ] {
        let (ok, err) =
            floweqprop(&["vectors", "--config", tiny, "--out", "/tmp/never", flag, "100000000000"]);
        assert!(!ok && err.contains(named) && err.contains("GB of memory"), "{flag}: {err}");
    }
}

/// `vectors --epochs`: a count out of range is refused naming its flag and value, before any
/// work, and --digits only goes with --epochs.
#[test]
fn training_stream_options_out_of_range_are_named() {
    let out = std::env::temp_dir().join(format!("fep-cli-stream-{}", std::process::id()));
    let out = out.to_str().unwrap();
    for (args, named) in [
        (&["--epochs", "0"][..], "--epochs: 0"),
        (&["--epochs", "1", "--digits", "0"][..], "--digits: 0"),
        (&["--epochs", "1", "--digits", "1798"][..], "--digits: 1798"),
        (&["--epochs", "1", "--digits", "4", "--batch", "5"][..], "--batch: 5"),
        (&["--digits", "4"][..], "--epochs"),
        (&["--epochs", "1", "--steps", "3"][..], "--steps"),
    ] {
        let mut all = vec!["vectors", "--config", "configs/tiny.yaml", "--out", out];
        all.extend(args);
        let (ok, err) = floweqprop(&all);
        assert!(!ok && err.contains(named), "{args:?}: {err}");
        assert!(!std::path::Path::new(out).exists(), "{args:?}: nothing written");
    }
}
