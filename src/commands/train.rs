//! `modelgate train`: fits a linfa logistic regression and writes it as a
//! model file.

use std::io::Write;
use std::path::Path;

use super::{ExitStatus, out_err};
use crate::error::Result;
use crate::train::{self, TrainSpec};

pub fn train(spec: &TrainSpec, out: &Path, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let t0 = std::time::Instant::now();
    let model = train::train(spec)?;
    train::write(&model, out)?;
    let missing: u64 = model.training.missing.iter().map(|m| m.1).sum();
    writeln!(
        stdout,
        "trained a linfa logistic regression on {} rows ({} positives), {} features, in {:.2}s{}\nwrote {}",
        model.training.rows,
        model.training.positives,
        model.features.len(),
        t0.elapsed().as_secs_f64(),
        if missing > 0 {
            format!("; {missing} missing training values were imputed with the feature mean")
        } else {
            String::new()
        },
        out.display()
    )
    .map_err(out_err)?;
    Ok(ExitStatus::Success)
}
