//! `modelgate gate build`: one command for every gate language. A Python
//! gate (a directory with `app.py`) is built by componentize-py against the
//! WIT and SDK embedded in this binary, with WASI stubbed out so the
//! component imports nothing but the gate contract; a Rust gate (a crate)
//! by cargo for `wasm32-wasip2`. The toolchains stay the user's own: this
//! only spells their command lines once, correctly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::super::{ExitStatus, out_err};
use crate::error::{Error, Result};
use crate::gates::scaffold;

/// The componentize-py release the SDK and the docs are tested with.
pub const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";
/// The ComponentizeJS release the JavaScript SDK is tested with, and the
/// WASI shim it imports without declaring it (with jco 1.35 it is no longer
/// installed as a dependency of a dependency).
pub const COMPONENTIZE_JS: &str =
    "@bytecodealliance/componentize-js@0.23.0 @bytecodealliance/preview2-shim@0.25.0";

pub fn gate_build(dir: &Path, out: Option<&Path>, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let built = if dir.join("app.py").is_file() {
        build_python(dir, out)?
    } else if dir.join("app.js").is_file() {
        build_js(dir, out)?
    } else if dir.join("Cargo.toml").is_file() {
        build_rust(dir, out)?
    } else {
        return Err(Error::Usage(format!(
            "gate build: {} has neither app.py (a Python gate), app.js (a JavaScript gate) nor Cargo.toml (a Rust gate); `modelgate gate new NAME --lang python` makes one",
            dir.display()
        )));
    };
    let bytes = std::fs::read(&built).map_err(|e| Error::io("cannot read", &built, e))?;
    writeln!(
        stdout,
        "built {} ({:.1} MB, sha256 {})\ntest it: modelgate gate test {} --cases {}",
        built.display(),
        bytes.len() as f64 / 1e6,
        crate::registry::sha256_hex(&bytes),
        built.display(),
        dir.join("cases.yaml").display()
    )
    .map_err(out_err)?;
    Ok(ExitStatus::Success)
}

/// The default output: `<dir>/<dir name>.wasm`.
fn default_out(dir: &Path) -> PathBuf {
    let name = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "gate".into());
    dir.join(format!("{name}.wasm"))
}

fn build_python(dir: &Path, out: Option<&Path>) -> Result<PathBuf> {
    let out = out.map_or_else(|| default_out(dir), Path::to_path_buf);
    let tmp = tempfile::tempdir()
        .map_err(|e| Error::io("cannot create a temp dir in", std::env::temp_dir(), e))?;
    scaffold::python_build_inputs(tmp.path())?;
    let tool = std::env::var_os("COMPONENTIZE_PY")
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "componentize-py".into());
    let mut cmd = Command::new(&tool);
    cmd.arg("-d")
        .arg(tmp.path().join("wit"))
        .args(["-w", "gate", "componentize", "--stub-wasi", "app", "-p"])
        .arg(dir)
        .arg("-p")
        .arg(tmp.path().join("sdk"))
        .arg("-o")
        .arg(&out);
    crate::progress::step(&format!("building {} with componentize-py", dir.display()));
    run(
        cmd,
        &tool.to_string_lossy(),
        &format!(
            "install it with `pip install {COMPONENTIZE_PY}`, or set COMPONENTIZE_PY to its path"
        ),
    )?;
    Ok(out)
}

fn build_js(dir: &Path, out: Option<&Path>) -> Result<PathBuf> {
    let out = out.map_or_else(|| default_out(dir), Path::to_path_buf);
    let out = std::path::absolute(&out).map_err(|e| Error::io("cannot resolve", &out, e))?;
    let modules = componentize_js(dir)?;
    // A scratch copy: the gate's .js files beside the SDK, the WIT and the
    // build script, and node_modules linked to the user's install.
    let tmp = tempfile::tempdir()
        .map_err(|e| Error::io("cannot create a temp dir in", std::env::temp_dir(), e))?;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("cannot read", dir, e))? {
        let path = entry.map_err(|e| Error::io("cannot read", dir, e))?.path();
        if path
            .extension()
            .is_some_and(|x| x == "js" || x == "mjs" || x == "json")
            && let Some(name) = path.file_name()
        {
            std::fs::copy(&path, tmp.path().join(name))
                .map_err(|e| Error::io("cannot copy", &path, e))?;
        }
    }
    scaffold::js_build_inputs(tmp.path())?;
    link(&modules, &tmp.path().join("node_modules"))?;
    let node = std::env::var_os("NODE")
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "node".into());
    let mut cmd = Command::new(&node);
    cmd.arg("build.mjs").arg(&out).current_dir(tmp.path());
    crate::progress::step(&format!("building {} with ComponentizeJS", dir.display()));
    run(
        cmd,
        &node.to_string_lossy(),
        "install Node.js 20 or later, or set NODE to its path",
    )?;
    Ok(out)
}

/// The `node_modules` directory holding ComponentizeJS: `$COMPONENTIZE_JS_MODULES`,
/// else the nearest one at or above the gate.
fn componentize_js(dir: &Path) -> Result<PathBuf> {
    let has = |m: &Path| {
        m.join("@bytecodealliance/componentize-js/package.json")
            .is_file()
    };
    if let Some(m) = std::env::var_os("COMPONENTIZE_JS_MODULES").filter(|m| !m.is_empty()) {
        let m = PathBuf::from(m);
        if has(&m) {
            return Ok(m);
        }
        return Err(Error::Usage(format!(
            "gate build: COMPONENTIZE_JS_MODULES={} holds no @bytecodealliance/componentize-js",
            m.display()
        )));
    }
    let start = std::path::absolute(dir).map_err(|e| Error::io("cannot resolve", dir, e))?;
    start
        .ancestors()
        .map(|d| d.join("node_modules"))
        .find(|m| has(m))
        .ok_or_else(|| {
            Error::Usage(format!(
                "gate build: ComponentizeJS is not installed for {}; run `npm install {COMPONENTIZE_JS}` there (or set COMPONENTIZE_JS_MODULES to a node_modules that has it)",
                dir.display()
            ))
        })
}

#[cfg(unix)]
fn link(target: &Path, at: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, at).map_err(|e| Error::io("cannot link", at, e))
}

#[cfg(not(unix))]
fn link(target: &Path, at: &Path) -> Result<()> {
    std::os::windows::fs::symlink_dir(target, at).map_err(|e| Error::io("cannot link", at, e))
}

fn build_rust(dir: &Path, out: Option<&Path>) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = dir.join("Cargo.toml");
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--release", "--target", "wasm32-wasip2"])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    crate::progress::step(&format!("building {} with cargo", dir.display()));
    let output = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Usage(
                "gate build: `cargo` is not on PATH; install Rust with rustup, then `rustup target add wasm32-wasip2`".into(),
            ));
        }
        Err(e) => return Err(Error::io("cannot run", "cargo", e)),
    };
    if !output.status.success() {
        return Err(Error::Usage(format!(
            "gate build: cargo failed ({}); its messages are above",
            output.status
        )));
    }
    // Cargo names what it built: the crate's cdylib, wherever the target
    // directory is.
    let built = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Artifact>(l).ok())
        .filter(|a| a.reason == "compiler-artifact" && a.target.kind.iter().any(|k| k == "cdylib"))
        .flat_map(|a| a.filenames)
        .find(|f| f.extension().is_some_and(|x| x == "wasm"))
        .ok_or_else(|| {
            Error::Usage(format!(
                "gate build: cargo built no WebAssembly component from {}; is the crate a `cdylib`?",
                manifest.display()
            ))
        })?;
    match out {
        Some(o) => {
            std::fs::copy(&built, o).map_err(|e| Error::io("cannot write", o, e))?;
            Ok(o.to_path_buf())
        }
        None => Ok(built),
    }
}

/// A line of `cargo build --message-format json`: only what is read.
#[derive(serde::Deserialize)]
struct Artifact {
    reason: String,
    #[serde(default)]
    target: ArtifactTarget,
    #[serde(default)]
    filenames: Vec<PathBuf>,
}

#[derive(serde::Deserialize, Default)]
struct ArtifactTarget {
    #[serde(default)]
    kind: Vec<String>,
}

/// Runs a build tool, its output passed through; a missing tool or a failed
/// build is an error naming it.
fn run(mut cmd: Command, tool: &str, install: &str) -> Result<()> {
    // Its chatter goes to stderr: stdout is modelgate's own report.
    cmd.stdout(std::io::stderr())
        .stdin(std::process::Stdio::null());
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(Error::Usage(format!(
            "gate build: {tool} failed ({s}); its messages are above"
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::Usage(format!(
            "gate build: `{tool}` is not on PATH; {install}"
        ))),
        Err(e) => Err(Error::io("cannot run", tool, e)),
    }
}
