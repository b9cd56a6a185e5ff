use floweqprop::config::RelaxConfig;
use floweqprop::gradep::gradep_step;
use floweqprop::model::{Dims, Params};
use rand::{Rng, SeedableRng};
fn main() {
    let d = Dims { n_x: 64, n_h1: 128, n_h2: 128 };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let p = Params::<f32>::init(d, 0.5, &mut rng);
    let n = 1797;
    let x: Vec<f32> = (0..n * 64).map(|_| rng.random_range(-1.0..1.0)).collect();
    let u: Vec<f32> = (0..n * 64).map(|_| rng.random_range(-1.0..1.0)).collect();
    let c = RelaxConfig::default();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let r = gradep_step(&p, &c, &x, &u).unwrap();
        println!("{:.3}s loss {}", t.elapsed().as_secs_f64(), r.loss);
    }
}
