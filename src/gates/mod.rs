//! The gate host: loads gate components, links them against a host that
//! grants nothing but read access to the run, runs each under a time and
//! memory limit, and turns every failure mode into a gate `error` that blocks
//! promotion (fail closed).

pub mod builtin;
mod cache;
mod error;
pub mod host;
pub mod scaffold;
pub mod wit;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store};

use crate::config::{GateSource, GateSpec, Severity};
use crate::error::{Error, Result};
use error::first_line;
pub use error::{BoxError, ErrorKind, GateError};
use host::{Gate, GatePre, GateState, LogLine, RunData};
pub use wit::WIT_VERSION;

/// How often the epoch ticks; timeouts are rounded up to it.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Largest outcome a gate may return, in bytes of its text.
pub const MAX_OUTCOME_BYTES: usize = 1 << 20;
/// Most observations one outcome may hold.
pub const MAX_OBSERVATIONS: usize = 10_000;

/// A gate's verdict as the decision sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
    /// The gate could not decide: trap, timeout, limit, bad outcome, bad
    /// component. Blocks promotion like `fail`.
    Error,
}

/// How an observation was compared, as in the WIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Info,
}

impl Comparison {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Eq => "==",
            Comparison::Info => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub name: String,
    pub observed: Option<f64>,
    pub threshold: Option<f64>,
    pub comparison: Comparison,
    pub passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What one gate concluded, with how it ran.
#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    pub id: String,
    pub uses: String,
    pub severity: Severity,
    pub verdict: Verdict,
    /// Why the gate could not decide, when `verdict` is `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    pub summary: String,
    pub observations: Vec<Observation>,
    pub duration_ms: f64,
    /// Whether this result blocks promotion.
    pub blocking: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<LogLine>,
    /// The component's sha256.
    pub sha256: String,
}

/// A gate's self-description.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    pub name: String,
    pub version: String,
    pub description: String,
    pub config_schema: serde_json::Value,
}

/// The process-wide engine: one per process, with an epoch ticker thread.
pub struct GateEngine {
    engine: Engine,
    linker: Linker<GateState>,
}

fn engine_config() -> wasmtime::Config {
    let mut c = wasmtime::Config::new();
    c.wasm_component_model(true);
    c.epoch_interruption(true);
    c.max_wasm_stack(1 << 20);
    c
}

impl GateEngine {
    /// The shared engine, created on first use.
    pub fn global() -> Result<&'static GateEngine> {
        // The failure is kept as text: a wasmtime error is not `Clone`, and
        // every later call must report the same failure.
        static ENGINE: OnceLock<std::result::Result<GateEngine, String>> = OnceLock::new();
        ENGINE
            .get_or_init(|| GateEngine::new().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| Error::Gate(GateError::Engine(e.clone())))
    }

    fn new() -> wasmtime::Result<GateEngine> {
        let engine = Engine::new(&engine_config())?;
        let mut linker = Linker::new(&engine);
        // WASI is linked so that ordinary components instantiate, but the
        // context in every store grants nothing (see host::GateState::new).
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Gate::add_to_linker::<_, HasSelf<GateState>>(&mut linker, |s| s)?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("modelgate-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| wasmtime::format_err!("cannot start the epoch thread: {e}"))?;
        Ok(GateEngine { engine, linker })
    }

    /// Compiles (or loads from the cache) and links a component. Errors name
    /// the gate and say what is wrong: a core module, a missing import, a
    /// WIT mismatch.
    pub fn load(&self, label: &str, bytes: &[u8]) -> std::result::Result<LoadedGate, GateError> {
        let label = label.to_string();
        if bytes.starts_with(b"\0asm\x01\0\0\0") {
            return Err(GateError::CoreModule { label });
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(GateError::NotComponent { label });
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        let component = match cache::load_or_compile(&self.engine, &sha256, bytes) {
            Ok(c) => c,
            Err(e) => {
                return Err(GateError::Compile {
                    label,
                    source: e.into(),
                });
            }
        };
        let pre = match self.linker.instantiate_pre(&component) {
            Ok(pre) => pre,
            Err(e) => {
                let hint = if format!("{e:#}").contains("modelgate:gate/") {
                    format!(
                        " (built against another version of the modelgate:gate WIT; this host provides {WIT_VERSION})"
                    )
                } else {
                    String::new()
                };
                return Err(GateError::MissingImport {
                    label,
                    hint,
                    source: e.into(),
                });
            }
        };
        let pre = match GatePre::new(pre) {
            Ok(pre) => pre,
            Err(e) => {
                return Err(GateError::World {
                    label,
                    source: e.into(),
                });
            }
        };
        let imports = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        Ok(LoadedGate {
            pre,
            sha256,
            size: bytes.len(),
            imports,
        })
    }

    fn store(&self, state: GateState, timeout: Duration) -> Store<GateState> {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let ticks = timeout.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        store
    }
}

/// A compiled, linked gate, ready to instantiate.
pub struct LoadedGate {
    pre: GatePre<GateState>,
    pub sha256: String,
    pub size: usize,
    pub imports: Vec<String>,
}

impl LoadedGate {
    /// Calls `metadata()` in a fresh sandbox.
    pub fn metadata(
        &self,
        engine: &GateEngine,
        run: Arc<RunData>,
    ) -> std::result::Result<Metadata, GateError> {
        let (state, _stdio) = GateState::new(run, String::new(), "{}".into(), 64 << 20);
        let mut store = engine.store(state, Duration::from_secs(10));
        let gate = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| GateError::Instantiate { source: e.into() })?;
        let m = gate
            .call_metadata(&mut store)
            .map_err(|e| GateError::Metadata { source: e.into() })?;
        let config_schema = serde_json::from_str(&m.config_schema)
            .map_err(|source| GateError::ConfigSchema { source })?;
        Ok(Metadata {
            name: m.name,
            version: m.version,
            description: m.description,
            config_schema,
        })
    }
}

/// Source bytes of a gate.
pub fn gate_bytes(source: &GateSource) -> Result<std::borrow::Cow<'static, [u8]>> {
    match source {
        GateSource::Builtin(name) => builtin::find(name)
            .map(|b| std::borrow::Cow::Borrowed(b.bytes))
            .ok_or_else(|| {
                Error::Gate(GateError::UnknownBuiltin {
                    name: name.clone(),
                    known: builtin::names(),
                })
            }),
        GateSource::File(path) => std::fs::read(path)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| Error::io("cannot read gate", path, e)),
    }
}

/// A gate ready to run: its spec, component and resolved id.
pub struct PreparedGate {
    pub spec: GateSpec,
    pub id: String,
    loaded: std::result::Result<LoadedGate, GateError>,
}

/// Loads every configured gate. A gate that fails to load becomes an error
/// result when run, so the report stays complete; a missing file or an
/// unknown built-in, which no run could fix, is a config error (exit 2).
pub fn prepare(specs: &[GateSpec], run: &Arc<RunData>) -> Result<Vec<PreparedGate>> {
    let engine = GateEngine::global()?;
    let mut prepared = Vec::new();
    for spec in specs {
        let bytes = gate_bytes(&spec.source)?;
        let loaded = engine.load(&spec.uses, &bytes);
        let id = match (&spec.id, &spec.source, &loaded) {
            (Some(id), _, _) => id.clone(),
            (None, GateSource::Builtin(name), _) => name.clone(),
            (None, GateSource::File(_), Ok(l)) => l
                .metadata(engine, run.clone())
                .map(|m| m.name)
                .unwrap_or_else(|_| file_stem(&spec.uses)),
            (None, GateSource::File(_), Err(_)) => file_stem(&spec.uses),
        };
        prepared.push(PreparedGate {
            spec: spec.clone(),
            id,
            loaded,
        });
    }
    let mut seen = HashSet::new();
    for p in &prepared {
        if !seen.insert(p.id.clone()) {
            return Err(Error::Gate(GateError::DuplicateId { id: p.id.clone() }));
        }
    }
    Ok(prepared)
}

fn file_stem(uses: &str) -> String {
    Path::new(uses)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| uses.to_string())
}

/// Runs the gates, independent ones in parallel, and returns their results in
/// config order.
pub fn run_all(gates: &[PreparedGate], run: &Arc<RunData>) -> Result<Vec<GateResult>> {
    let engine = GateEngine::global()?;
    Ok(gates
        .par_iter()
        .map(|g| run_one(engine, g, run.clone()))
        .collect())
}

fn run_one(engine: &GateEngine, gate: &PreparedGate, run: Arc<RunData>) -> GateResult {
    let start = Instant::now();
    let spec = &gate.spec;
    let mut result = GateResult {
        id: gate.id.clone(),
        uses: spec.uses.clone(),
        severity: spec.severity,
        verdict: Verdict::Error,
        error_kind: None,
        summary: String::new(),
        observations: Vec::new(),
        duration_ms: 0.0,
        blocking: true,
        log: Vec::new(),
        sha256: String::new(),
    };
    let mut failure = None;
    match &gate.loaded {
        Err(e) => {
            result.error_kind = Some(e.kind());
            result.summary = e.describe();
        }
        Ok(loaded) => {
            result.sha256 = loaded.sha256.clone();
            let (state, stdio) = GateState::new(
                run,
                gate.id.clone(),
                spec.with.to_string(),
                spec.memory as usize,
            );
            let mut store = engine.store(state, spec.timeout);
            let outcome = loaded
                .pre
                .instantiate(&mut store)
                .and_then(|g| g.call_evaluate(&mut store));
            result.log = std::mem::take(&mut store.data_mut().log);
            for (level, pipe) in [("stdout", &stdio.stdout), ("stderr", &stdio.stderr)] {
                let text = String::from_utf8_lossy(&pipe.contents()).into_owned();
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    result.log.push(LogLine {
                        level,
                        message: line.to_string(),
                    });
                }
            }
            match outcome {
                Ok(Ok(o)) => match validate_outcome(o) {
                    Ok((verdict, summary, observations)) => {
                        result.verdict = verdict;
                        result.summary = summary;
                        result.observations = observations;
                    }
                    Err(e) => failure = Some(e),
                },
                Ok(Err(message)) => failure = Some(GateError::Reported(message)),
                Err(trap) => failure = Some(classify_trap(trap, spec, store.data().limits.hit)),
            }
        }
    }
    if let Some(e) = failure {
        result.error_kind = Some(e.kind());
        result.summary = e.describe();
    }
    result.blocking = matches!(
        (result.verdict, spec.severity),
        (Verdict::Error, _) | (Verdict::Fail, Severity::Fail)
    );
    result.duration_ms = start.elapsed().as_secs_f64() * 1e3;
    result
}

/// Names the limit or fault behind a trap.
fn classify_trap(e: wasmtime::Error, spec: &GateSpec, memory_hit: Option<usize>) -> GateError {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => {
            return GateError::Timeout {
                limit: fmt_duration(spec.timeout),
            };
        }
        Some(wasmtime::Trap::StackOverflow) => return GateError::StackOverflow,
        _ => {}
    }
    if memory_hit.is_some() {
        return GateError::Memory {
            limit_mib: spec.memory >> 20,
        };
    }
    let cause = e.root_cause().to_string();
    GateError::Trap {
        message: first_line(cause.trim_start_matches("wasm trap: ")),
        source: e.into(),
    }
}

pub fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn validate_outcome(
    o: wit::latest::modelgate::gate::types::Outcome,
) -> std::result::Result<(Verdict, String, Vec<Observation>), GateError> {
    use wit::latest::modelgate::gate::types as t;
    let size = o.summary.len()
        + o.observations
            .iter()
            .map(|ob| ob.name.len() + ob.detail.as_ref().map_or(0, String::len) + 32)
            .sum::<usize>();
    if size > MAX_OUTCOME_BYTES || o.observations.len() > MAX_OBSERVATIONS {
        return Err(GateError::Oversized {
            bytes: size,
            observations: o.observations.len(),
            max_bytes: MAX_OUTCOME_BYTES,
            max_observations: MAX_OBSERVATIONS,
        });
    }
    if o.summary.trim().is_empty() {
        return Err(GateError::Malformed("the summary is empty"));
    }
    let verdict = match o.verdict {
        t::Verdict::Pass => Verdict::Pass,
        t::Verdict::Warn => Verdict::Warn,
        t::Verdict::Fail => Verdict::Fail,
    };
    let observations = o
        .observations
        .into_iter()
        .map(|ob| Observation {
            name: ob.name,
            observed: ob.observed,
            threshold: ob.threshold,
            comparison: match ob.comparison {
                t::Comparison::Gt => Comparison::Gt,
                t::Comparison::Ge => Comparison::Ge,
                t::Comparison::Lt => Comparison::Lt,
                t::Comparison::Le => Comparison::Le,
                t::Comparison::Eq => Comparison::Eq,
                t::Comparison::Info => Comparison::Info,
            },
            passed: ob.passed,
            detail: ob.detail,
        })
        .collect();
    let summary = first_line(o.summary.trim());
    Ok((verdict, summary, observations))
}
