//! `modelgate gate`: list the built-in gates, inspect a component, test one
//! against table-driven cases, scaffold a new gate or build one.

mod build;
mod distribute;
mod test;

use std::io::Write;
use std::path::Path;

use super::{ExitStatus, out_err};
use crate::config::GateSource;
use crate::error::{Error, Result};
use crate::gates::host::RunData;
use crate::gates::{self, GateEngine, Limits, LoadedGate, Metadata, builtin, scaffold};

pub use build::gate_build;
pub use distribute::{gate_lock, gate_push};
pub use test::gate_test;

/// A gate's metadata outside a run, under the default limits, its errors
/// named by `uses`.
fn metadata(engine: &GateEngine, loaded: &LoadedGate, uses: &str) -> Result<Metadata> {
    loaded
        .metadata(engine, RunData::empty(), Limits::default_limits())
        .map_err(|error| Error::GateNamed {
            uses: uses.to_string(),
            error,
        })
}

pub fn gate_list(stdout: &mut dyn Write) -> Result<ExitStatus> {
    let engine = GateEngine::global()?;
    for b in builtin::BUILTINS {
        let loaded = engine.load(b.name, b.bytes)?;
        let m = metadata(engine, &loaded, &format!("builtin:{}", b.name))?;
        writeln!(
            stdout,
            "builtin:{:<22} v{}  {}",
            b.name, m.version, m.description
        )
        .map_err(out_err)?;
    }
    Ok(ExitStatus::Success)
}

pub fn gate_inspect(uses: &str, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let source = GateSource::parse(Path::new("."), uses);
    let bytes = gates::gate_bytes(&source)?;
    let engine = GateEngine::global()?;
    let loaded = engine.load(uses, &bytes)?;
    let m = metadata(engine, &loaded, uses)?;
    let schema = serde_json::to_string_pretty(&m.config_schema).unwrap_or_default();
    writeln!(
        stdout,
        "{uses}\n  name:        {}\n  version:     {}\n  description: {}\n  size:        {} bytes\n  sha256:      {}\n  imports:\n{}\n  config schema:\n{}",
        m.name,
        m.version,
        m.description,
        loaded.size,
        loaded.sha256,
        loaded.imports.iter().map(|i| format!("    {i}")).collect::<Vec<_>>().join("\n"),
        schema.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
    )
    .map_err(out_err)?;
    Ok(ExitStatus::Success)
}

pub fn gate_new(
    name: &str,
    dir: &Path,
    lang: scaffold::Lang,
    stdout: &mut dyn Write,
) -> Result<ExitStatus> {
    scaffold::create(name, dir, lang)?;
    let interpreted = match lang {
        scaffold::Lang::Rust => None,
        scaffold::Lang::Python => Some((
            "Python",
            format!("`pip install {}`", build::COMPONENTIZE_PY),
        )),
        scaffold::Lang::Js => Some((
            "JavaScript",
            format!("node and `npm install {}`", build::COMPONENTIZE_JS),
        )),
    };
    if let Some((language, needs)) = interpreted {
        writeln!(
            stdout,
            "created {language} gate `{name}` in {dir}\nbuild it:  modelgate gate build {dir}   (needs {needs})\ntest it:   modelgate gate test {dir}/{name}.wasm --cases {dir}/cases.yaml",
            dir = dir.display(),
        )
        .map_err(out_err)?;
        return Ok(ExitStatus::Success);
    }
    writeln!(
        stdout,
        "created gate `{name}` in {}\nbuild it:  cd {} && cargo build --release --target wasm32-wasip2\ntest it:   modelgate gate test {}/target/wasm32-wasip2/release/{}.wasm --cases {}/cases.yaml",
        dir.display(),
        dir.display(),
        dir.display(),
        name.replace('-', "_"),
        dir.display()
    )
    .map_err(out_err)?;
    Ok(ExitStatus::Success)
}
