//! Conformance with an independent f64 computation of one GradEP step (`tests/data/gradep_case.json`,
//! 64-16-16 network, batch 8, T = 300): equilibria, energies, velocity, loss and EP gradient.

use floweqprop::arith::fixed::Fixed;
use floweqprop::arith::float::Float;
use floweqprop::arith::Arith;
use floweqprop::config::RelaxConfig;
use floweqprop::config::{Config, ModelConfig};
use floweqprop::energy::energy;
use floweqprop::gradep::{ep_gradient, three_phases, velocity};
use floweqprop::model::{Params, States};
use floweqprop::relax::Packed;
use floweqprop::saturation::Saturations;
use serde_json::Value;

fn case() -> Value {
    serde_json::from_str(include_str!("../data/gradep_case.json")).unwrap()
}

/// A JSON number, list, or list of lists, flattened row-major.
fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Number(n) => vec![n.as_f64().unwrap()],
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        other => panic!("not numeric: {other}"),
    }
}

/// Largest absolute difference relative to the largest reference magnitude.
fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    let (i, err) = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .enumerate()
        .fold((0, 0.0), |best, (i, e)| if e > best.1 { (i, e) } else { best });
    assert!(err / scale <= tol, "{what}[{i}]: got {} want {} (rel err {:e})", got[i], want[i], err / scale);
}

fn params(c: &Value) -> Params<f64> {
    let p = &c["params"];
    Params {
        w0: flat(&p["W0"]),
        b0: flat(&p["b0"]),
        w1: flat(&p["W1"]),
        b1: flat(&p["b1"]),
        bx: flat(&p["bx"]),
    }
}

fn relax_config(c: &Value) -> RelaxConfig {
    let s = &c["settings"];
    RelaxConfig {
        steps: s["T"].as_u64().unwrap() as usize,
        eps: s["eps"].as_f64().unwrap(),
        k: s["k"].as_f64().unwrap(),
        alpha: s["alpha"].as_f64().unwrap(),
        beta: s["beta"].as_f64().unwrap(),
    }
}

#[test]
fn f64_gradep_step_matches_the_independent_reference() {
    let c = case();
    let p = params(&c);
    let rc = relax_config(&c);
    let (x_t, u) = (flat(&c["inputs"]["x_t"]), flat(&c["inputs"]["u"]));
    let (a, sat) = (Float::<f64>::new(), &mut Saturations::default());
    let eq = three_phases(&a, &Packed::new(&a, &p), &rc, &x_t, &u, sat);
    let tol = 1e-9;
    for (name, s) in [("free", &eq.free), ("plus", &eq.plus), ("minus", &eq.minus)] {
        assert_close(&format!("{name}.x"), &s.x, &flat(&c[name]["x"]), tol);
        assert_close(&format!("{name}.h1"), &s.h1, &flat(&c[name]["h1"]), tol);
        assert_close(&format!("{name}.h2"), &s.h2, &flat(&c[name]["h2"]), tol);
    }
    let v = velocity(&a, &rc, &eq.free, &x_t);
    assert_close("velocity", &v, &flat(&c["free"]["velocity"]), tol);
    let loss = v.iter().zip(&u).map(|(v, u)| (v - u).powi(2)).sum::<f64>() / v.len() as f64;
    assert_close("loss", &[loss], &[c["free"]["loss"].as_f64().unwrap()], tol);
    let d = p.dims();
    let energies: Vec<f64> = (0..eq.free.n)
        .map(|i| {
            let s: &States<f64> = &eq.free;
            energy(
                &p,
                &s.x[i * d.n_x..][..d.n_x],
                &s.h1[i * d.n_h1..][..d.n_h1],
                &s.h2[i * d.n_h2..][..d.n_h2],
            )
        })
        .collect();
    assert_close("energy", &energies, &flat(&c["free"]["energy"]), tol);
    let g = ep_gradient(&a, &rc, &eq);
    let want = &c["ep_gradient"];
    for (name, got) in g.tensors() {
        assert_close(&format!("grad {name}"), got, &flat(&want[name]), tol);
    }
}

#[test]
fn f32_path_tracks_the_reference_loosely() {
    let c = case();
    let p: Params<f32> = params(&c).cast();
    let rc = relax_config(&c);
    let to32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
    let (x_t, u) = (to32(flat(&c["inputs"]["x_t"])), to32(flat(&c["inputs"]["u"])));
    let (a, sat) = (Float::<f32>::new(), &mut Saturations::default());
    let eq = three_phases(&a, &Packed::new(&a, &p), &rc, &x_t, &u, sat);
    let widen = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    assert_close("f32 free.x", &widen(&eq.free.x), &flat(&c["free"]["x"]), 1e-5);
    let g = ep_gradient(&a, &rc, &eq);
    for (name, got) in g.tensors() {
        assert_close(&format!("f32 grad {name}"), got, &flat(&c["ep_gradient"][name]), 2e-2);
    }
}

/// Issue 3, "it must show" 1: with very wide formats (48-bit, 40 fraction bits for the states,
/// nearest rounding, a 2^20-entry interpolated LUT) the fixed-point golden model tracks the f64
/// model on the reference case: equilibria within 1e-6 and the EP gradient within 1e-5,
/// relative to each tensor's largest value.
#[test]
fn fixed_point_with_wide_formats_tracks_f64() {
    let c = case();
    let p = params(&c);
    let rc = relax_config(&c);
    let (x_t, u) = (flat(&c["inputs"]["x_t"]), flat(&c["inputs"]["u"]));
    let f64_arith = Float::<f64>::new();
    let sat = &mut Saturations::default();
    let want = three_phases(&f64_arith, &Packed::new(&f64_arith, &p), &rc, &x_t, &u, sat);
    let want_grad = ep_gradient(&f64_arith, &rc, &want);

    let yaml = "fixed:\n  state: {width: 48, frac: 40}\n  derivative: {width: 48, frac: 44}\n  \
                weight: {width: 48, frac: 40}\n  constant: {width: 48, frac: 36}\n  accumulator_width: 110\n  gradient_sum_width: 110\n  \
                lut: {index_bits: 20, interpolation: linear}\n  rounding: half_even\n";
    let mut config = Config::from_yaml_str(yaml, "wide.yaml").unwrap();
    config.model = ModelConfig { n_x: 64, n_h1: 16, n_h2: 16, ..config.model };
    let a = Fixed::<i128>::new(&config).unwrap();
    let q = |v: &[f64]| v.iter().map(|&v| a.state(v)).collect::<Vec<i64>>();
    let got = three_phases(&a, &Packed::new(&a, &p.map(|v| a.param(v))), &rc, &q(&x_t), &q(&u), sat);
    assert_eq!(sat.total(), 0, "wide formats never saturate");
    let value = |v: &[i64]| v.iter().map(|&r| a.state_value(r)).collect::<Vec<f64>>();
    for (name, g, w) in
        [("free", &got.free, &want.free), ("plus", &got.plus, &want.plus), ("minus", &got.minus, &want.minus)]
    {
        assert_close(&format!("fixed {name}.x"), &value(&g.x), &w.x, 1e-6);
        assert_close(&format!("fixed {name}.h1"), &value(&g.h1), &w.h1, 1e-6);
        assert_close(&format!("fixed {name}.h2"), &value(&g.h2), &w.h2, 1e-6);
    }
    let grad = ep_gradient(&a, &rc, &got);
    for ((name, got), (_, want)) in grad.tensors().into_iter().zip(want_grad.tensors()) {
        assert_close(&format!("fixed grad {name}"), got, want, 1e-5);
    }
}
