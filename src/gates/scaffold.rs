//! `modelgate gate new`: a self-contained gate, in Rust (a crate) or in
//! Python (a module for componentize-py). The SDK and the WIT are written
//! from copies embedded in the binary, so the gate builds offline and always
//! matches the host it came from; `modelgate gate build` writes the same
//! copies for componentize-py.

use std::path::Path;

use crate::error::{Error, Result};

const SDK_LIB: &str = include_str!("../../gates/sdk/src/lib.rs");
pub const WIT: &str = include_str!("../../gates/wit/gate.wit");
/// The Python SDK package (`modelgate_gate`).
pub const PYTHON_SDK: &str = include_str!("../../gates/python/modelgate_gate/__init__.py");
/// The JavaScript SDK module and the ComponentizeJS build script.
pub const JS_SDK: &str = include_str!("../../gates/js/modelgate-gate.js");
const JS_BUILD: &str = include_str!("../../gates/js/build.mjs");

/// The language a new gate is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

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

/// `my-gate` → `MyGate`, for the Rust type and the Python class.
fn type_name(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn gate_lib(name: &str) -> String {
    let ty = type_name(name);
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

fn python_app(name: &str) -> String {
    let class = type_name(name);
    format!(
        r#""""The `{name}` gate: the candidate's ROC AUC must reach `min_auc`.
Replace the body of `evaluate` with your own check; `modelgate gate build`
makes the component and `modelgate gate test` runs cases.yaml against it."""

from modelgate_gate import Comparison, Gate, ModelRole, check, export, metrics, outcome_from_checks


class {class}(Gate):
    name = "{name}"
    version = "0.1.0"
    description = "The candidate's ROC AUC must reach `min_auc`."
    # The host checks `with:` against this before the gate runs.
    config_schema = {{
        "type": "object",
        "additionalProperties": False,
        "properties": {{"min_auc": {{"type": "number", "default": 0.8}}}},
    }}

    def evaluate(self, config):
        auc = metrics(ModelRole.CANDIDATE).require("roc_auc")
        return outcome_from_checks([check("roc_auc", auc, Comparison.GE, config.get("min_auc", 0.8))])


# componentize-py exports the class named WitWorld in this module.
WitWorld = export({class})
"#
    )
}

fn js_app(name: &str) -> String {
    format!(
        r#"// The `{name}` gate: the candidate's ROC AUC must reach `min_auc`.
// Replace the body of `evaluate` with your own check; `modelgate gate build`
// makes the component and `modelgate gate test` runs cases.yaml against it.

import {{ check, gate, metrics, outcomeFromChecks }} from "./modelgate-gate.js";

export const {{ metadata, evaluate }} = gate({{
  name: "{name}",
  version: "0.1.0",
  description: "The candidate's ROC AUC must reach `min_auc`.",
  // The host checks `with:` against this before the gate runs.
  configSchema: {{
    type: "object",
    additionalProperties: false,
    properties: {{ min_auc: {{ type: "number", default: 0.8 }} }},
  }},
  evaluate(config) {{
    const auc = metrics("candidate").require("roc_auc");
    return outcomeFromChecks([check("roc_auc", auc, "ge", config.min_auc ?? 0.8)]);
  }},
}});
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

/// Writes the gate; refuses to touch an existing directory.
pub fn create(name: &str, dir: &Path, lang: Lang) -> Result<()> {
    if dir.exists() {
        return Err(Error::Usage(format!(
            "gate new: {} already exists",
            dir.display()
        )));
    }
    let files: Vec<(&str, String)> = match lang {
        Lang::Rust => vec![
            ("Cargo.toml", gate_cargo(name)),
            ("src/lib.rs", gate_lib(name)),
            ("cases.yaml", CASES.to_string()),
            ("sdk/Cargo.toml", SDK_CARGO.to_string()),
            ("sdk/src/lib.rs", SDK_LIB.to_string()),
            ("wit/gate.wit", WIT.to_string()),
        ],
        // The SDK and WIT come from `gate build`, so a gate never carries
        // a stale copy of either.
        Lang::Python => vec![
            ("app.py", python_app(name)),
            ("cases.yaml", CASES.to_string()),
        ],
        Lang::Js => vec![("app.js", js_app(name)), ("cases.yaml", CASES.to_string())],
    };
    write_files(dir, files)
}

/// Writes the WIT and the Python SDK where componentize-py reads them:
/// `dir/wit/gate.wit` and `dir/sdk/modelgate_gate/__init__.py`.
pub fn python_build_inputs(dir: &Path) -> Result<()> {
    write_files(
        dir,
        vec![
            ("wit/gate.wit", WIT.to_string()),
            ("sdk/modelgate_gate/__init__.py", PYTHON_SDK.to_string()),
        ],
    )
}

/// Writes what the ComponentizeJS build reads beside the gate's own files:
/// `dir/wit/gate.wit`, `dir/modelgate-gate.js` and `dir/build.mjs`.
pub fn js_build_inputs(dir: &Path) -> Result<()> {
    write_files(
        dir,
        vec![
            ("wit/gate.wit", WIT.to_string()),
            ("modelgate-gate.js", JS_SDK.to_string()),
            ("build.mjs", JS_BUILD.to_string()),
        ],
    )
}

fn write_files(dir: &Path, files: Vec<(&str, String)>) -> Result<()> {
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io("cannot write", &path, e))?;
    }
    Ok(())
}
