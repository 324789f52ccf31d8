//! The SplitMix64 stream of `tests/reference/make_reference.py`, and the
//! feature rows of `make_models.py`, bit for bit; shared by the reference
//! tests and the model benchmark (which includes this file with `#[path]`).

pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// `rows()` of make_models.py, column-major: f0-f6 on a 1/512 grid, f7 a
/// category 0-5; with `missing`, f1 and f3 are NaN in about 10% of rows.
#[allow(dead_code)] // metrics_reference uses only the generator.
pub fn rows(seed: u64, n: usize, missing: bool) -> Vec<Vec<f64>> {
    let mut rng = SplitMix64(seed);
    let mut cols: Vec<Vec<f64>> = (0..8).map(|_| Vec::with_capacity(n)).collect();
    for _ in 0..n {
        for (j, col) in cols.iter_mut().enumerate() {
            let (u, v) = (rng.uniform(), rng.uniform());
            let mut value = if j == 7 {
                (u * 6.0).floor()
            } else {
                ((u * 4096.0) as i64 - 2048) as f64 / 512.0
            };
            if missing && (j == 1 || j == 3) && v < 0.1 {
                value = f64::NAN;
            }
            col.push(value);
        }
    }
    cols
}
