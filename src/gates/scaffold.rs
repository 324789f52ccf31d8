//! `modelgate gate new`: a self-contained gate crate. The SDK and the WIT are
//! written into it from copies embedded in the binary, so the new crate
//! builds offline and always matches the host it came from.

use std::path::Path;

use crate::error::{Error, Result};

const SDK_LIB: &str = include_str!("../../gates/sdk/src/lib.rs");
const WIT: &str = include_str!("../../gates/wit/gate.wit");

const SDK_CARGO: &str = r#"[package]
name = "modelgate-gate-sdk"
version = "0.1.0"
edition = "2024"
license = "Apache-2.0"

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
wit-bindgen = { version = "0.61", default-features = false, features = ["macros", "realloc", "std"] }
"#;

fn gate_cargo(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]

[dependencies]
modelgate-gate-sdk = {{ path = "sdk" }}
serde = {{ version = "1", features = ["derive"] }}

[workspace]
members = [".", "sdk"]

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
strip = true
panic = "abort"
"#
    )
}

fn gate_lib(name: &str) -> String {
    let ty: String = name
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!(
        r#"//! The `{name}` gate: the candidate's ROC AUC must reach `min_auc`.
//! Replace the body of `evaluate` with your own check.

use modelgate_gate_sdk::serde_json::json;
use modelgate_gate_sdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {{
    #[serde(default = "default_min_auc")]
    min_auc: f64,
}}

fn default_min_auc() -> f64 {{
    0.8
}}

struct {ty};

impl Gate for {ty} {{
    type Config = Config;
    const NAME: &'static str = "{name}";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "The candidate's ROC AUC must reach `min_auc`.";

    fn config_schema() -> serde_json::Value {{
        json!({{"type": "object", "additionalProperties": false,
                "properties": {{"min_auc": {{"type": "number", "default": 0.8}}}}}})
    }}

    fn evaluate(config: Config) -> Result<Outcome, String> {{
        let auc = metrics(ModelRole::Candidate).ok_or("no evaluation")?.require("roc_auc")?;
        Ok(Outcome::from_checks(vec![check("roc_auc", auc, Comparison::Ge, config.min_auc)]))
    }}
}}

export_gate!({ty});
"#
    )
}

const CASES: &str = r#"# modelgate gate test <component> --cases cases.yaml
cases:
  - name: a good model passes
    with: { min_auc: 0.7 }
    holdout:
      columns:
        is_fraud:        [0, 0, 0, 1, 0, 1, 0, 1]
        score_candidate: [0.1, 0.2, 0.3, 0.9, 0.2, 0.8, 0.1, 0.7]
    expect: pass
  - name: a random model fails
    with: { min_auc: 0.7 }
    holdout:
      columns:
        is_fraud:        [0, 1, 0, 1, 0, 1, 0, 1]
        score_candidate: [0.9, 0.1, 0.8, 0.2, 0.5, 0.5, 0.3, 0.6]
    expect: fail
"#;

/// Writes the crate; refuses to touch an existing directory.
pub fn create(name: &str, dir: &Path) -> Result<()> {
    if dir.exists() {
        return Err(Error::Usage(format!(
            "gate new: {} already exists",
            dir.display()
        )));
    }
    let files: [(&str, String); 6] = [
        ("Cargo.toml", gate_cargo(name)),
        ("src/lib.rs", gate_lib(name)),
        ("cases.yaml", CASES.to_string()),
        ("sdk/Cargo.toml", SDK_CARGO.to_string()),
        ("sdk/src/lib.rs", SDK_LIB.to_string()),
        ("wit/gate.wit", WIT.to_string()),
    ];
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io("cannot write", &path, e))?;
    }
    Ok(())
}
