//! The training loop: resume equals an uninterrupted run, divergence stops cleanly, checkpoints
//! are checked on load.

use floweqprop::arith::fixed::Fixed;
use floweqprop::arith::float::Float;
use floweqprop::checkpoint::Checkpoint;
use floweqprop::config::Config;
use floweqprop::dataset::Digits;
use floweqprop::error::Error;
use floweqprop::train::{checkpoint_path, read_loss_csv, train, RunOptions};
use std::path::{Path, PathBuf};

/// A small, fast config: the real data, a narrow network, short phases.
fn small_config(epochs: usize) -> Config {
    Config::from_yaml_str(
        &format!("model: {{n_h1: 8, n_h2: 8}}\nrelax: {{steps: 8}}\ntrain: {{epochs: {epochs}, seed: 5, checkpoint_every: 1}}\n"),
        "test",
    )
    .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn opts(out: &Path) -> RunOptions {
    RunOptions { out: out.to_path_buf(), progress: None, log_every: None, stop: None }
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let images = Digits::embedded().images;
    let (a, b) = (temp_dir("straight"), temp_dir("resumed"));
    let straight = train(&Float::<f32>::new(), &small_config(4), &images, None, &opts(&a)).unwrap();
    train(&Float::<f32>::new(), &small_config(2), &images, None, &opts(&b)).unwrap();
    let ck = Checkpoint::load(&checkpoint_path(&b)).unwrap();
    assert_eq!(ck.epochs_done, 2);
    let resumed = train(&Float::<f32>::new(), &small_config(4), &images, Some(&ck), &opts(&b)).unwrap();
    assert_eq!(resumed.params, straight.params, "parameters differ after resuming");
    let losses = |h: &[floweqprop::checkpoint::EpochRecord]| h.iter().map(|r| r.loss).collect::<Vec<_>>();
    assert_eq!(losses(&resumed.history), losses(&straight.history));
    assert_eq!(
        Checkpoint::load(&checkpoint_path(&a)).unwrap().params,
        Checkpoint::load(&checkpoint_path(&b)).unwrap().params
    );
    // The CSV of the resumed run holds every epoch once.
    let csv = read_loss_csv(&b.join("loss.csv")).unwrap();
    assert_eq!(csv.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert!(b.join("loss.png").exists());
    // A different seed gives a different run.
    let mut other = small_config(1);
    other.train.seed = 6;
    let c = temp_dir("seed6");
    let o = train(&Float::<f32>::new(), &other, &images, None, &opts(&c)).unwrap();
    assert_ne!(o.history[0].loss, straight.history[0].loss);
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn diverging_run_stops_with_epoch_and_phase_and_keeps_last_checkpoint() {
    let images = Digits::embedded().images;
    let out = temp_dir("diverge");
    let mut config = small_config(5);
    // Adam moves every weight by about lr: 1e37 overflows f32 products in the next free phase.
    config.optim.lr = 1e37;
    config.optim.lr_min = 0.0;
    let err = train(&Float::<f32>::new(), &config, &images, None, &opts(&out)).err().expect("diverges");
    match &err {
        Error::Diverged { epoch, phase } => {
            assert_eq!((*epoch, phase.as_str()), (2, "free"), "{err}");
        }
        other => panic!("expected divergence, got {other}"),
    }
    assert!(err.to_string().contains("epoch 2") && err.to_string().contains("free"));
    let ck = Checkpoint::load(&checkpoint_path(&out)).expect("the last good checkpoint is intact");
    assert_eq!(ck.epochs_done, 1);
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn missing_and_corrupt_checkpoints_are_named_errors() {
    let dir = temp_dir("corrupt");
    let missing = Checkpoint::load(&dir.join("nope.json")).unwrap_err().to_string();
    assert!(missing.contains("nope.json"), "{missing}");
    let images = Digits::embedded().images;
    train(&Float::<f32>::new(), &small_config(1), &images, None, &opts(&dir)).unwrap();
    let path = checkpoint_path(&dir);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let truncated = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(
        truncated.contains("checkpoint.json") && truncated.contains("not a readable checkpoint"),
        "{truncated}"
    );
    let mut ck: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    ck["params"]["b0"].as_array_mut().unwrap().pop();
    std::fs::write(&path, serde_json::to_vec(&ck).unwrap()).unwrap();
    let shapes = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(shapes.contains("layer sizes"), "{shapes}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The fixed-point golden model resumes bit for bit too (parameters, optimizer state with its
/// LFSR, loss and saturation logs), for Adam and for SGD with stochastic rounding and
/// mini-batches.
#[test]
fn fixed_point_run_resumes_bit_for_bit_and_logs_saturations() {
    let images = Digits::embedded().images;
    for extra in [
        "",
        "optim: {kind: sgd, lr: 0.2, momentum: 0.9, batch_size: 600}\nfixed: {update_rounding: stochastic}\n",
    ] {
        let config = |epochs: usize| {
            let mut c = small_config(epochs);
            let o = Config::from_yaml_str(extra, "test").unwrap();
            (c.optim, c.fixed) = (o.optim, o.fixed);
            c
        };
        let a = Fixed::<i64>::new(&config(3)).unwrap();
        let (x, y) = (temp_dir("fixed-straight"), temp_dir("fixed-resumed"));
        let straight = train(&a, &config(3), &images, None, &opts(&x)).unwrap();
        train(&a, &config(1), &images, None, &opts(&y)).unwrap();
        let ck = Checkpoint::load(&checkpoint_path(&y)).unwrap();
        assert_eq!(ck.precision, "fixed");
        let resumed = train(&a, &config(3), &images, Some(&ck), &opts(&y)).unwrap();
        assert_eq!(resumed.params, straight.params, "{extra}");
        assert_eq!(
            Checkpoint::load(&checkpoint_path(&x)).unwrap().optimizer.fixed_optimizer,
            Checkpoint::load(&checkpoint_path(&y)).unwrap().optimizer.fixed_optimizer
        );
        let log = |d: &Path| std::fs::read_to_string(d.join("saturation.csv")).unwrap();
        assert_eq!(log(&x), log(&y));
        assert_eq!(log(&x).lines().count(), 4, "header and a line per epoch");
        assert!(log(&x).starts_with("epoch,drive,product,state,pull,gradient,moment,second_moment,weight\n"));
        // The updates moved the parameters off their quantized init.
        assert_ne!(resumed.params, ck.params(&a), "{extra}");
        for d in [x, y] {
            std::fs::remove_dir_all(d).unwrap();
        }
    }
}

/// The committed core configs load, and each runs in both arithmetics.
#[test]
fn committed_core_configs_are_valid_in_both_arithmetics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    for name in ["tiny", "small", "paper"] {
        let c = Config::from_yaml_file(&dir.join(format!("{name}.yaml"))).unwrap();
        c.fixed.check_constants(&c.relax, &c.optim, &c.generate).unwrap();
        Fixed::<i64>::new(&c).unwrap();
        assert_eq!((c.model.n_x, c.relax.k, c.relax.beta), (64, 15.0, 1.25e-3), "{name}");
    }
}
