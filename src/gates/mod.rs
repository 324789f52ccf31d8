//! The gate host: loads gate components, links them against a host that
//! grants nothing but read access to the run, runs each under a time and
//! memory limit, and turns every failure mode into a gate `error` that blocks
//! promotion (fail closed).

pub mod builtin;
mod cache;
mod error;
pub mod fetch;
pub mod host;
pub mod oci;
pub mod scaffold;
mod settings;
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
pub use settings::{ConfigSchema, Violation};
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

/// Read back from `decision.json` and from `gate test` cases, with an
/// error that lists the verdicts.
impl<'de> serde::Deserialize<'de> for Verdict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match <String as serde::Deserialize>::deserialize(d)?.as_str() {
            "pass" => Ok(Verdict::Pass),
            "warn" => Ok(Verdict::Warn),
            "fail" => Ok(Verdict::Fail),
            "error" => Ok(Verdict::Error),
            other => Err(serde::de::Error::custom(format!(
                "`{other}` is not a verdict; expected pass, warn, fail or error"
            ))),
        }
    }
}

/// Why a gate reached its verdict, when it says (`reason` in
/// `modelgate.decision/v1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictReason {
    /// The data cannot support the decision; more labelled rows would.
    InsufficientEvidence,
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
    /// Why the gate reached its verdict, when it said (only with a pass,
    /// warn or fail verdict).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<VerdictReason>,
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
        host::freeze_sleep(&mut linker)?;
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
        let component = match cache::load_or_compile(&self.engine, &label, &sha256, bytes) {
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
        let ty = component.component_type();
        let imports = ty
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        // The host functions it calls, so the run computes what only some
        // gates need (integrity facts) only when a gate asks.
        let host_functions = ty
            .imports(&self.engine)
            .filter(|(name, _)| name.starts_with("modelgate:gate/host"))
            .filter_map(|(_, item)| match item.ty {
                wasmtime::component::types::ComponentItem::ComponentInstance(i) => Some(i),
                _ => None,
            })
            .flat_map(|i| {
                i.exports(&self.engine)
                    .map(|(name, _)| name.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(LoadedGate {
            pre,
            sha256,
            size: bytes.len(),
            imports,
            host_functions,
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

/// The time and memory a gate may use, in every export.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub memory: usize,
}

impl Limits {
    /// The limits of a configured gate.
    pub fn of(spec: &GateSpec) -> Limits {
        Limits {
            timeout: spec.timeout,
            memory: usize::try_from(spec.memory).unwrap_or(usize::MAX),
        }
    }

    /// The defaults, for `gate list` and `gate inspect`.
    pub fn default_limits() -> Limits {
        Limits {
            timeout: crate::config::DEFAULT_GATE_TIMEOUT,
            memory: usize::try_from(crate::config::DEFAULT_GATE_MEMORY).unwrap_or(usize::MAX),
        }
    }
}

/// A compiled, linked gate, ready to instantiate.
pub struct LoadedGate {
    pre: GatePre<GateState>,
    pub sha256: String,
    pub size: usize,
    pub imports: Vec<String>,
    /// The `modelgate:gate/host` functions it imports.
    pub host_functions: Vec<String>,
}

impl LoadedGate {
    /// Calls `metadata()` in a fresh sandbox under the gate's own time and
    /// memory limits, so a gate cannot escape them through this export.
    pub fn metadata(
        &self,
        engine: &GateEngine,
        run: Arc<RunData>,
        limits: Limits,
    ) -> std::result::Result<Metadata, GateError> {
        let (state, stdio) = GateState::new(run, String::new(), "{}".into(), limits.memory);
        let mut store = engine.store(state, limits.timeout);
        let m = self
            .pre
            .instantiate(&mut store)
            .and_then(|gate| gate.call_metadata(&mut store))
            .map_err(|e| GateError::InMetadata {
                error: Box::new(classify_trap(e, limits, store.data().limits.hit)),
                output: stdio_lines(&stdio)
                    .take(20)
                    .map(|(_, line)| host::cut(line.as_str(), host::MAX_LOG_LINE_BYTES))
                    .collect(),
            })?;
        let config_schema = serde_json::from_str(&m.config_schema)
            .map_err(|source| GateError::ConfigSchema { source })?;
        ConfigSchema::compile(&config_schema)
            .map_err(|message| GateError::SchemaInvalid { message })?;
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
        GateSource::Url { url, sha256 } => {
            let sha256 = sha256.as_deref().ok_or_else(|| {
                Error::Gate(GateError::Fetch {
                    url: url.clone(),
                    message: "no sha256 pinned; name it in a config with `sha256:` beside `uses:`"
                        .into(),
                })
            })?;
            fetch::fetch(url, sha256)
                .map(std::borrow::Cow::Owned)
                .map_err(Error::Gate)
        }
        GateSource::Oci(uses) => oci::pull(uses)
            .map(std::borrow::Cow::Owned)
            .map_err(Error::Gate),
    }
}

/// A gate ready to run: its spec, component, settings schema and resolved id.
pub struct PreparedGate {
    pub spec: GateSpec,
    pub id: String,
    loaded: std::result::Result<LoadedGate, GateError>,
    schema: Option<ConfigSchema>,
}

impl PreparedGate {
    /// Whether the gate loaded and imports this `host` function.
    pub fn calls(&self, function: &str) -> bool {
        self.loaded
            .as_ref()
            .is_ok_and(|l| l.host_functions.iter().any(|f| f == function))
    }
}

/// A gate whose `with:` settings break its own config schema.
#[derive(Debug)]
pub struct BadSettings {
    /// The gate's position in the config.
    pub index: usize,
    pub id: String,
    pub violation: Violation,
}

/// Loads every configured gate and asks it for its metadata under its own
/// limits, before any data is read. A gate that fails to load or to
/// describe itself becomes an error result when run, so the report stays
/// complete and nothing passes by default; a missing file or an unknown
/// built-in, which no run could fix, is a config error (exit 2).
pub fn prepare(specs: &[GateSpec]) -> Result<Vec<PreparedGate>> {
    let engine = GateEngine::global()?;
    let mut prepared = Vec::new();
    for spec in specs {
        let bytes = gate_bytes(&spec.source)?;
        let described = engine.load(&spec.uses, &bytes).and_then(|l| {
            let m = l.metadata(engine, RunData::empty(), Limits::of(spec))?;
            Ok((l, m))
        });
        let (loaded, name, schema) = match described {
            Ok((l, m)) => (
                Ok(l),
                Some(m.name),
                ConfigSchema::compile(&m.config_schema).ok(),
            ),
            Err(e) => (Err(e), None, None),
        };
        let id = match (&spec.id, &spec.source, name) {
            (Some(id), _, _) => id.clone(),
            (None, GateSource::Builtin(name), _) => name.clone(),
            (None, _, Some(name)) => name,
            (None, _, None) => file_stem(&spec.uses),
        };
        prepared.push(PreparedGate {
            spec: spec.clone(),
            id,
            loaded,
            schema,
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

/// Checks each gate's `with:` against the schema it declared; the first
/// mismatch, in config order. A gate that did not load has no schema here
/// and errors when run.
pub fn check_settings(prepared: &[PreparedGate]) -> std::result::Result<(), BadSettings> {
    for (index, g) in prepared.iter().enumerate() {
        if let Some(schema) = &g.schema {
            schema
                .check(&g.spec.with)
                .map_err(|violation| BadSettings {
                    index,
                    id: g.id.clone(),
                    violation,
                })?;
        }
    }
    Ok(())
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
        reason: None,
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
            if let GateError::InMetadata { output, .. } = e {
                result.log = output
                    .iter()
                    .map(|line| LogLine {
                        level: "stderr",
                        message: line.clone(),
                    })
                    .collect();
            }
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
            let state = store.data_mut();
            for (level, line) in stdio_lines(&stdio) {
                state.push_log(level, &line);
            }
            if let Ok(Err(message)) = &outcome {
                // The summary shows the start of the message; the log keeps
                // what fits its caps.
                state.push_log("error", message);
            }
            result.log = state.take_log();
            let reason = state.reason;
            match outcome {
                Ok(Ok(o)) => match validate_outcome(o) {
                    Ok((verdict, summary, observations)) => {
                        result.verdict = verdict;
                        result.reason = reason;
                        result.summary = summary;
                        result.observations = observations;
                    }
                    Err(e) => failure = Some(e),
                },
                Ok(Err(message)) => {
                    failure = Some(GateError::Reported(host::cut(
                        first_line(&message).as_str(),
                        host::MAX_SUMMARY_BYTES,
                    )))
                }
                Err(trap) => {
                    failure = Some(classify_trap(
                        trap,
                        Limits::of(spec),
                        store.data().limits.hit,
                    ))
                }
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

/// The non-empty lines a gate wrote to stdout and stderr, with the stream.
fn stdio_lines(stdio: &host::Stdio) -> impl Iterator<Item = (&'static str, String)> {
    [("stdout", &stdio.stdout), ("stderr", &stdio.stderr)]
        .into_iter()
        .flat_map(|(level, pipe)| {
            String::from_utf8_lossy(&pipe.contents())
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| (level, l.to_string()))
                .collect::<Vec<_>>()
        })
}

/// Names the limit or fault behind a trap.
fn classify_trap(e: wasmtime::Error, limits: Limits, memory_hit: Option<usize>) -> GateError {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => {
            return GateError::Timeout {
                limit: fmt_duration(limits.timeout),
            };
        }
        Some(wasmtime::Trap::StackOverflow) => return GateError::StackOverflow,
        _ => {}
    }
    if memory_hit.is_some() {
        return GateError::Memory {
            limit_mib: (limits.memory >> 20) as u64,
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
            name: host::cut(&ob.name, host::MAX_NAME_BYTES),
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
            detail: ob.detail.map(|d| host::cut(&d, host::MAX_DETAIL_BYTES)),
        })
        .collect();
    let summary = host::cut(&first_line(o.summary.trim()), host::MAX_SUMMARY_BYTES);
    Ok((verdict, summary, observations))
}

/// Builds a gate's outcome from fuzzer bytes and checks it as the host
/// checks a real one, through the JSON a decision records. Lengths and
/// counts are drawn large enough to cross every cap.
#[doc(hidden)]
pub fn fuzz_outcome(bytes: &[u8]) -> bool {
    use wit::latest::modelgate::gate::types as t;
    let mut u = arbitrary::Unstructured::new(bytes);
    let text = |u: &mut arbitrary::Unstructured| -> arbitrary::Result<String> {
        let s: String = u.arbitrary()?;
        Ok(s.repeat(u.int_in_range(1..=4096)?))
    };
    let mut build = || -> arbitrary::Result<t::Outcome> {
        let verdict = match u.int_in_range(0..=2u8)? {
            0 => t::Verdict::Pass,
            1 => t::Verdict::Warn,
            _ => t::Verdict::Fail,
        };
        let summary = text(&mut u)?;
        let n = u.int_in_range(0..=MAX_OBSERVATIONS + 1)?;
        let mut observations = Vec::new();
        for _ in 0..n {
            if u.is_empty() {
                break;
            }
            observations.push(t::Observation {
                name: text(&mut u)?,
                observed: u.arbitrary()?,
                threshold: u.arbitrary()?,
                comparison: match u.int_in_range(0..=5u8)? {
                    0 => t::Comparison::Gt,
                    1 => t::Comparison::Ge,
                    2 => t::Comparison::Lt,
                    3 => t::Comparison::Le,
                    4 => t::Comparison::Eq,
                    _ => t::Comparison::Info,
                },
                passed: u.arbitrary()?,
                detail: if u.arbitrary()? {
                    Some(text(&mut u)?)
                } else {
                    None
                },
            });
        }
        Ok(t::Outcome {
            verdict,
            summary,
            observations,
        })
    };
    let Ok(outcome) = build() else {
        return false;
    };
    let Ok((_, summary, observations)) = validate_outcome(outcome) else {
        return false;
    };
    assert!(summary.len() <= host::MAX_SUMMARY_BYTES + 64, "summary cap");
    assert!(!summary.contains('\n'), "a summary is one line");
    let json = serde_json::to_string(&observations).expect("observations serialise");
    assert!(json.len() <= 2 * MAX_OUTCOME_BYTES + 64 * observations.len());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module with one memory of `pages` 64 KiB pages, or a table of
    /// `elements` funcrefs, or nothing: bytes written out by hand, since
    /// the crate has no WAT parser.
    fn module(memory_pages: Option<u32>, table_elements: Option<u32>) -> Vec<u8> {
        fn leb(mut v: u32, out: &mut Vec<u8>) {
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(byte);
                    return;
                }
                out.push(byte | 0x80);
            }
        }
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        if let Some(n) = table_elements {
            let mut body = vec![1, 0x70, 0];
            leb(n, &mut body);
            m.push(4);
            leb(body.len() as u32, &mut m);
            m.extend(body);
        }
        if let Some(n) = memory_pages {
            let mut body = vec![1, 0];
            leb(n, &mut body);
            m.push(5);
            leb(body.len() as u32, &mut m);
            m.extend(body);
        }
        m
    }

    /// How many instances of `bytes` one gate's store holds before the
    /// limiter refuses one, and the error then.
    fn instances_until_refused(bytes: &[u8], budget: usize) -> (usize, String) {
        let engine = GateEngine::global().unwrap();
        let (state, _stdio) = GateState::new(RunData::empty(), "g".into(), "{}".into(), budget);
        let mut store = engine.store(state, Duration::from_secs(10));
        let module = wasmtime::Module::new(&engine.engine, bytes).unwrap();
        for n in 0..10_000 {
            if let Err(e) = wasmtime::Instance::new(&mut store, &module, &[]) {
                return (n, format!("{e:#}"));
            }
        }
        panic!("10000 instances and no limit");
    }

    #[test]
    fn a_gate_cannot_escape_its_budget_with_many_memories_tables_or_instances() {
        let budget = 64 << 20;
        // Memories of 20 MiB: the budget is their sum, so the fourth is refused.
        let (n, e) = instances_until_refused(&module(Some(320), None), budget);
        assert_eq!(n, 3, "{e}");
        assert!(e.contains("memory limit exceeded"), "{e}");
        // Small memories: at most MAX_MEMORIES of them.
        let (n, _) = instances_until_refused(&module(Some(1), None), budget);
        assert_eq!(n, host::MAX_MEMORIES);
        // Tables count too: one of 8M elements is 128 MiB at 16 B each.
        let (n, e) = instances_until_refused(&module(None, Some(8 << 20)), budget);
        assert_eq!(n, 0, "{e}");
        let (n, _) = instances_until_refused(&module(None, Some(1)), budget);
        assert_eq!(n, host::MAX_TABLES);
        // And instances themselves, even empty ones.
        let (n, _) = instances_until_refused(&module(None, None), budget);
        assert_eq!(n, host::MAX_INSTANCES);
    }
}
