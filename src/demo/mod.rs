//! A seeded synthetic credit-card fraud holdout, for the demo and for tests.
//!
//! Rows are generated in fixed-size chunks, each from its own random stream
//! derived from (seed, chunk), so the output is identical byte for byte
//! whatever the number of threads. The generator is hand-written (SplitMix64
//! seeding a xoshiro256++ stream) rather than taken from `rand`, whose value
//! streams may change between releases: a seed must mean the same data forever.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Rows per independently seeded chunk. Part of the output's definition:
/// changing it changes every generated file.
const CHUNK_ROWS: u64 = 65_536;
/// Ids of seed `s` start at `(s % ID_SEEDS) * ID_SPAN + 1`: ten billion
/// rows per seed, and every id fits an i64.
const ID_SPAN: u64 = 10_000_000_000;
const ID_SEEDS: u64 = 900_000_000;
/// Chunks generated in parallel before they are written, bounding memory.
const WAVE_CHUNKS: u64 = 16;
/// Fraud prevalence.
const FRAUD_RATE: f64 = 0.005;
pub const FEATURES: usize = 28;
/// Mean shift of the first informative features for fraud rows.
const FRAUD_SHIFT: [f64; 10] = [1.2, -1.0, 0.8, -0.7, 0.6, -0.5, 0.5, 0.4, -0.4, 0.3];

const MERCHANTS: [&str; 10] = [
    "grocery",
    "fuel",
    "restaurants",
    "travel",
    "online_retail",
    "electronics",
    "gift_cards",
    "pharmacy",
    "utilities",
    "entertainment",
];
const MERCHANT_WEIGHTS_LEGIT: [f64; 10] = [22.0, 14.0, 16.0, 6.0, 15.0, 5.0, 1.0, 8.0, 9.0, 4.0];
const MERCHANT_WEIGHTS_FRAUD: [f64; 10] = [4.0, 3.0, 4.0, 12.0, 30.0, 22.0, 18.0, 2.0, 1.0, 4.0];
/// Log-likelihood ratio of each merchant category, for the oracle scores.
const COUNTRIES: [&str; 12] = [
    "US", "GB", "DE", "FR", "CA", "NL", "ES", "IT", "BR", "NG", "RU", "CN",
];
const COUNTRY_WEIGHTS_LEGIT: [f64; 12] =
    [70.0, 6.0, 5.0, 4.0, 4.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0];
const COUNTRY_WEIGHTS_FRAUD: [f64; 12] = [
    35.0, 5.0, 4.0, 4.0, 3.0, 3.0, 3.0, 3.0, 10.0, 12.0, 9.0, 9.0,
];
/// `event_time` runs over the four weeks from 2026-11-01T00:00:00Z.
const MONTH_START_MS: i64 = 1_793_491_200_000;
const MONTH_MS: i64 = 28 * 86_400_000;
/// A category that appears only under drift: a new merchant type in production traffic.
const DRIFT_MERCHANT: &str = "crypto_exchange";

/// Output file format of `demo data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoFormat {
    Parquet,
    Csv,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoData {
    pub rows: u64,
    pub seed: u64,
    pub format: DemoFormat,
    /// Columns and the fraction of their values to blank out.
    pub missing: Vec<(String, f64)>,
    /// Covariate shift, in standard deviations of the features.
    pub drift: f64,
}

impl DemoData {
    pub fn new(rows: u64, seed: u64) -> Self {
        DemoData {
            rows,
            seed,
            format: DemoFormat::Parquet,
            missing: Vec::new(),
            drift: 0.0,
        }
    }

    /// The generated columns, in file order.
    pub fn columns() -> Vec<String> {
        let mut c = vec!["transaction_id".to_string(), "amount".to_string()];
        c.extend((1..=FEATURES).map(feature_name));
        c.extend(
            [
                "merchant_category",
                "country",
                "is_fraud",
                "score_candidate",
                "score_production",
                "event_time",
            ]
            .map(String::from),
        );
        c
    }

    fn validate(&self) -> Result<()> {
        if self.rows == 0 {
            return Err(Error::Usage("demo data: --rows must be at least 1".into()));
        }
        if !self.drift.is_finite() {
            return Err(Error::Usage(
                "demo data: --drift must be a finite number".into(),
            ));
        }
        let columns = Self::columns();
        for (c, r) in &self.missing {
            if !columns.contains(c) || c == "transaction_id" {
                return Err(Error::Usage(format!(
                    "demo data: --missing {c}={r}: no such column (or the id, which is never blank); columns are {}",
                    columns[1..].join(", ")
                )));
            }
            if !(0.0..=1.0).contains(r) {
                return Err(Error::Usage(format!(
                    "demo data: --missing {c}={r}: the ratio must lie in [0, 1]"
                )));
            }
        }
        Ok(())
    }

    /// Writes `holdout.parquet` (or `.csv`) into `dir` and returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        self.validate()?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
        let name = match self.format {
            DemoFormat::Parquet => "holdout.parquet",
            DemoFormat::Csv => "holdout.csv",
        };
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = File::create(&tmp).map_err(|e| Error::io("cannot create", &tmp, e))?;
        let writer = BufWriter::with_capacity(1 << 20, file);
        let schema = self.chunk(0, 0)?.schema().as_ref().clone();
        let chunks = self.rows.div_ceil(CHUNK_ROWS);
        let write_err = |e| Error::polars("cannot write", &tmp, e);
        match self.format {
            DemoFormat::Parquet => {
                let mut w = ParquetWriter::new(writer)
                    .with_compression(ParquetCompression::Snappy)
                    .batched(&schema)
                    .map_err(write_err)?;
                self.for_each_chunk(chunks, |df| w.write_batch(df).map_err(write_err))?;
                w.finish().map_err(write_err)?;
            }
            DemoFormat::Csv => {
                let mut w = CsvWriter::new(writer)
                    .include_header(true)
                    .batched(&schema)
                    .map_err(write_err)?;
                self.for_each_chunk(chunks, |df| w.write_batch(df).map_err(write_err))?;
                w.finish().map_err(write_err)?;
            }
        }
        std::fs::rename(&tmp, &path).map_err(|e| Error::io("cannot rename into", &path, e))?;
        Ok(path)
    }

    fn for_each_chunk(
        &self,
        chunks: u64,
        mut f: impl FnMut(&DataFrame) -> Result<()>,
    ) -> Result<()> {
        let mut start = 0;
        while start < chunks {
            let end = (start + WAVE_CHUNKS).min(chunks);
            let wave: Vec<DataFrame> = (start..end)
                .into_par_iter()
                .map(|c| {
                    let rows = CHUNK_ROWS.min(self.rows - c * CHUNK_ROWS);
                    self.chunk(c, rows)
                })
                .collect::<Result<_>>()?;
            for df in &wave {
                f(df)?;
            }
            start = end;
        }
        Ok(())
    }

    /// Generates chunk `c` with `rows` rows.
    fn chunk(&self, c: u64, rows: u64) -> Result<DataFrame> {
        let n = rows as usize;
        let mut rng = Rng::new(self.seed, c, 0);
        // Ids are unique across the files of different seeds, as a real
        // transaction table's are, so an id shared between a holdout and
        // its training data means a shared row (`builtin:integrity`).
        let first_id = (self.seed % ID_SEEDS) * ID_SPAN + c * CHUNK_ROWS + 1;
        let ids: Vec<i64> = (0..rows).map(|i| (first_id + i) as i64).collect();
        let mut amount = Vec::with_capacity(n);
        let mut features: Vec<Vec<f32>> = (0..FEATURES).map(|_| Vec::with_capacity(n)).collect();
        let mut merchant = Vec::with_capacity(n);
        let mut country = Vec::with_capacity(n);
        let mut fraud = Vec::with_capacity(n);
        let mut cand = Vec::with_capacity(n);
        let mut prod = Vec::with_capacity(n);
        let drift_merchant_rate = (self.drift.abs() * 0.05).min(0.5);
        for _ in 0..n {
            let is_fraud = rng.uniform() < FRAUD_RATE;
            let mut signal = 0.0;
            for (j, column) in features.iter_mut().enumerate() {
                let z = rng.normal();
                let mut x = if is_fraud && j < FRAUD_SHIFT.len() {
                    FRAUD_SHIFT[j] + 1.2 * z
                } else {
                    z
                };
                x += self.drift * (0.5 + 0.5 * (j % 3) as f64);
                if j < FRAUD_SHIFT.len() {
                    signal += FRAUD_SHIFT[j] * x;
                }
                column.push(x as f32);
            }
            let (mu, sigma) = if is_fraud { (4.4, 1.3) } else { (3.6, 1.1) };
            let log_amount = mu + 0.3 * self.drift + sigma * rng.normal();
            amount.push((log_amount.exp() * 100.0).round() / 100.0);
            let (mw, cw) = if is_fraud {
                (&MERCHANT_WEIGHTS_FRAUD, &COUNTRY_WEIGHTS_FRAUD)
            } else {
                (&MERCHANT_WEIGHTS_LEGIT, &COUNTRY_WEIGHTS_LEGIT)
            };
            let m = rng.pick(mw);
            let ct = rng.pick(cw);
            let merchant_llr = (MERCHANT_WEIGHTS_FRAUD[m] / MERCHANT_WEIGHTS_LEGIT[m]).ln();
            let country_llr = (COUNTRY_WEIGHTS_FRAUD[ct] / COUNTRY_WEIGHTS_LEGIT[ct]).ln();
            merchant.push(if rng.uniform() < drift_merchant_rate {
                DRIFT_MERCHANT
            } else {
                MERCHANTS[m]
            });
            country.push(COUNTRIES[ct]);
            fraud.push(i32::from(is_fraud));
            let base = -7.0 + 0.45 * signal + 0.6 * (log_amount - 3.6);
            let c_logit = base + 0.9 * merchant_llr + 0.8 * country_llr + 0.9 * rng.normal();
            let p_logit = base + 0.75 * merchant_llr + 0.5 * country_llr + 1.05 * rng.normal();
            cand.push(sigmoid(c_logit));
            prod.push(sigmoid(p_logit));
        }

        // A column with this run's missing ratio applied, if any.
        macro_rules! masked {
            ($name:expr, $values:expr) => {{
                let name: &str = $name;
                match self.missing_mask(c, name, n) {
                    None => Column::new(name.into(), $values),
                    Some(m) => Column::new(
                        name.into(),
                        $values
                            .into_iter()
                            .zip(m)
                            .map(|(v, keep)| keep.then_some(v))
                            .collect::<Vec<_>>(),
                    ),
                }
            }};
        }
        let mut columns: Vec<Column> = Vec::with_capacity(FEATURES + 7);
        columns.push(Column::new("transaction_id".into(), ids));
        columns.push(masked!("amount", amount));
        for (j, values) in features.into_iter().enumerate() {
            columns.push(masked!(&feature_name(j + 1), values));
        }
        columns.push(masked!("merchant_category", merchant));
        columns.push(masked!("country", country));
        columns.push(masked!("is_fraud", fraud));
        columns.push(masked!("score_candidate", cand));
        columns.push(masked!("score_production", prod));
        // Each row's time within a four-week month, from a stream of its
        // own so the other columns do not change with it.
        let mut clock = Rng::new(self.seed, c, fnv1a("event_time"));
        let times: Vec<i64> = (0..n)
            .map(|_| MONTH_START_MS + (clock.uniform() * MONTH_MS as f64) as i64)
            .collect();
        let times = masked!("event_time", times);
        columns.push(
            times
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                .map_err(|e| Error::polars("cannot build", "demo data", e))?,
        );
        DataFrame::new(n, columns).map_err(|e| Error::polars("cannot build", "demo data", e))
    }

    /// `Some(keep)` per row when the column has a missing ratio; each column
    /// draws from its own stream so adding one never changes another.
    fn missing_mask(&self, chunk: u64, name: &str, n: usize) -> Option<Vec<bool>> {
        let ratio = self.missing.iter().rev().find(|(c, _)| c == name)?.1;
        let mut rng = Rng::new(self.seed, chunk, fnv1a(name));
        Some((0..n).map(|_| rng.uniform() >= ratio).collect())
    }
}

pub fn feature_name(i: usize) -> String {
    format!("f{i:02}")
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// xoshiro256++ seeded through SplitMix64, with a cached Box-Muller normal.
pub struct Rng {
    s: [u64; 4],
    spare: Option<f64>,
}

impl Rng {
    /// A stream for (seed, chunk, column); distinct triples give independent streams.
    pub fn new(seed: u64, chunk: u64, stream: u64) -> Rng {
        let mut sm = seed
            ^ chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut next = || {
            sm = sm.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
            spare: None,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        self.spare = Some(r * s);
        r * c
    }

    /// An index drawn with the given (unnormalised) weights.
    pub fn pick(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut u = self.uniform() * total;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_streams_are_stable_and_distinct() {
        let mut a = Rng::new(7, 0, 0);
        let mut b = Rng::new(7, 0, 0);
        let mut c = Rng::new(7, 1, 0);
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::new(1, 2, 3);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
    }

    #[test]
    fn chunk_has_expected_shape_and_prevalence() {
        let d = DemoData::new(CHUNK_ROWS, 42);
        let df = d.chunk(0, CHUNK_ROWS).unwrap();
        assert_eq!(df.height(), CHUNK_ROWS as usize);
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, DemoData::columns());
        let fraud = df
            .column("is_fraud")
            .unwrap()
            .as_materialized_series()
            .i32()
            .unwrap()
            .sum()
            .unwrap();
        let rate = fraud as f64 / CHUNK_ROWS as f64;
        assert!((0.003..0.007).contains(&rate), "{rate}");
    }

    #[test]
    fn missing_ratio_blanks_about_that_fraction() {
        let mut d = DemoData::new(CHUNK_ROWS, 1);
        d.missing.push(("f03".into(), 0.2));
        let df = d.chunk(0, CHUNK_ROWS).unwrap();
        let nulls = df.column("f03").unwrap().null_count() as f64 / CHUNK_ROWS as f64;
        assert!((0.19..0.21).contains(&nulls), "{nulls}");
        assert_eq!(df.column("f04").unwrap().null_count(), 0);
    }

    #[test]
    fn unknown_missing_column_is_a_usage_error() {
        let mut d = DemoData::new(10, 1);
        d.missing.push(("nope".into(), 0.1));
        assert!(
            d.validate()
                .unwrap_err()
                .to_string()
                .contains("no such column")
        );
    }
}
