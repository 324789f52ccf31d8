//! What a gate sees: the `modelgate:gate/host` imports, served from the run's
//! shared data, and a WASI context that grants nothing. One [`GateState`]
//! lives in each gate's store.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use polars::prelude::*;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime::{ResourceLimiter, Result as WtResult, StoreContextMut};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::{DynPollable, Pollable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::data::Table;
use crate::data::profile::ColumnProfile;
use crate::metrics::CurvePoint;
use crate::stats::ks::KsTest;

use super::wit::latest::modelgate;
pub use super::wit::latest::{Gate, GatePre};
use modelgate::gate::types;

/// Most rows one read call may ask for; larger requests get this many.
pub const MAX_READ_ROWS: u32 = 1 << 20;
/// Bytes of stdout and stderr kept per gate.
pub const MAX_STDIO_BYTES: usize = 64 * 1024;
/// Log lines kept per gate.
pub const MAX_LOG_LINES: usize = 1000;
/// Bytes of one log line kept; a longer line is cut and says so.
pub const MAX_LOG_LINE_BYTES: usize = 16 * 1024;
/// Bytes of all log lines of one gate together.
pub const MAX_LOG_BYTES: usize = 256 * 1024;
/// Bytes of a summary, and of an `Err` message shown as one.
pub const MAX_SUMMARY_BYTES: usize = 1024;
/// Bytes of an observation's name.
pub const MAX_NAME_BYTES: usize = 256;
/// Bytes of an observation's detail.
pub const MAX_DETAIL_BYTES: usize = 4 * 1024;
/// Core instances, linear memories and tables one gate may create. A
/// component built by Rust, componentize-py or ComponentizeJS needs a handful
/// of each; the memory budget below bounds their size.
pub const MAX_INSTANCES: usize = 64;
pub const MAX_MEMORIES: usize = 8;
pub const MAX_TABLES: usize = 64;
/// What one table element is charged against the memory budget.
const TABLE_ELEMENT_BYTES: usize = 16;

pub use crate::text::cut;

/// Columns a dataset keeps after a gate read them: a gate that reads a
/// column in windows, or two columns side by side, reads each from the
/// file once, and memory stays a couple of columns.
const RECENT_COLUMNS: usize = 2;

/// One dataset as gates see it: its profiles, and its columns read on
/// demand from the [`Table`] (one at a time from a Parquet file).
#[derive(Debug)]
pub struct DatasetView {
    pub table: Table,
    pub profiles: Vec<ColumnProfile>,
    recent: Mutex<VecDeque<(String, Column)>>,
}

impl DatasetView {
    pub fn new(table: Table, profiles: Vec<ColumnProfile>) -> Self {
        DatasetView {
            table,
            profiles,
            recent: Mutex::new(VecDeque::new()),
        }
    }

    fn column(&self, name: &str) -> Result<Column, ReadError> {
        if !self.table.has(name) {
            return Err(ReadError::NoColumn(name.to_string()));
        }
        let mut recent = self.recent.lock().map_err(|_| ReadError::Poisoned)?;
        if let Some((_, c)) = recent.iter().find(|(n, _)| n == name) {
            return Ok(c.clone());
        }
        let c = self
            .table
            .column(name)
            .map_err(|e| ReadError::Read(e.to_string()))?;
        recent.push_front((name.to_string(), c.clone()));
        recent.truncate(RECENT_COLUMNS);
        Ok(c)
    }

    fn numeric_column(&self, name: &str) -> Result<Column, ReadError> {
        let c = self.column(name)?;
        if !(c.dtype().is_numeric() || c.dtype().is_bool()) {
            return Err(ReadError::NotNumeric {
                column: name.to_string(),
                dtype: c.dtype().to_string(),
            });
        }
        Ok(c)
    }

    /// A window of a column as f64, missing values as NaN; only the window
    /// is cast.
    fn numeric(&self, column: &str, offset: u64, len: u32) -> Result<Vec<f64>, ReadError> {
        let c = self.numeric_column(column)?;
        let (start, n) = window(c.len(), offset, len);
        let cast = c.slice(start as i64, n).cast(&DataType::Float64)?;
        Ok(cast.f64()?.iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }

    /// The column cast to f64 by polars (no copy when it is f64 already).
    fn float64(&self, column: &str) -> Result<Float64Chunked, ReadError> {
        let c = self.numeric_column(column)?;
        Ok(c.cast(&DataType::Float64)?.f64()?.clone())
    }

    fn text(&self, column: &str, offset: u64, len: u32) -> Result<Vec<Option<String>>, ReadError> {
        let c = self.column(column)?;
        let (start, n) = window(c.len(), offset, len);
        let slice = c.slice(start as i64, n).cast(&DataType::String)?;
        Ok(slice.str()?.iter().map(|v| v.map(str::to_string)).collect())
    }
}

/// Why a read failed; the guest receives its text as the WIT's
/// `result<_, string>` error.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("no column `{0}`")]
    NoColumn(String),
    #[error("column `{column}` has type {dtype}; read it with read-text")]
    NotNumeric { column: String, dtype: String },
    #[error("{0}")]
    Polars(#[from] PolarsError),
    #[error("{0}")]
    Read(String),
    #[error("internal error: cache poisoned")]
    Poisoned,
}

/// The `[start, start + n)` window of a read, clamped to the data.
fn window(total: usize, offset: u64, len: u32) -> (usize, usize) {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
    let n = (len.min(MAX_READ_ROWS) as usize).min(total - start);
    (start, n)
}

fn slice_of<T: Clone>(v: &[T], offset: u64, len: u32) -> Vec<T> {
    let (start, n) = window(v.len(), offset, len);
    v[start..start + n].to_vec()
}

/// One model's evaluation as gates see it.
#[derive(Debug, Clone)]
pub struct ModelView {
    pub metrics: Vec<(String, Option<f64>)>,
    pub roc: Vec<CurvePoint>,
    pub pr: Vec<CurvePoint>,
    pub scores: Arc<Vec<f64>>,
}

/// Everything about the run that gates may read; shared by all gates.
#[derive(Debug)]
pub struct RunData {
    pub model: String,
    pub candidate_id: String,
    pub production_id: Option<String>,
    pub label_column: String,
    pub id_column: Option<String>,
    pub score_columns: Vec<String>,
    /// `holdout.weight`, which the integrity facts leave out of the features.
    pub weight_column: Option<String>,
    pub candidate: ModelView,
    pub production: Option<ModelView>,
    pub labels: Arc<Vec<bool>>,
    pub holdout: DatasetView,
    pub reference: Option<DatasetView>,
    /// Tests of candidate minus production, by metric.
    pub delta_tests: std::collections::BTreeMap<String, crate::stats::DeltaTest>,
    /// Each `segments:` column's segments.
    pub segments: Vec<crate::segments::SegmentTable>,
    /// The confidence level of the tests' intervals.
    pub confidence: f64,
    /// The KS test of each numeric column both datasets have, taken while
    /// the profiles were computed; other columns are tested on demand.
    pub ks: HashMap<String, KsTest>,
    /// False when the holdout is a `modelgate.summary/v1`: the row reads
    /// then fail with [`NO_ROWS`] rather than return nothing.
    pub rows_held: bool,
    /// Set by [`RunData::compute_integrity`], which [`crate::decision`]
    /// calls before the gates run when one of them imports `integrity`.
    pub integrity: std::sync::OnceLock<crate::integrity::Integrity>,
}

impl RunData {
    /// A run with no data, for calling `metadata()` outside a run.
    pub fn empty() -> Arc<RunData> {
        let model = ModelView {
            metrics: Vec::new(),
            roc: Vec::new(),
            pr: Vec::new(),
            scores: Arc::new(Vec::new()),
        };
        Arc::new(RunData {
            model: String::new(),
            candidate_id: String::new(),
            production_id: None,
            label_column: String::new(),
            id_column: None,
            score_columns: Vec::new(),
            weight_column: None,
            candidate: model,
            production: None,
            labels: Arc::new(Vec::new()),
            holdout: DatasetView::new(Table::from_frame(DataFrame::empty()), Vec::new()),
            reference: None,
            delta_tests: Default::default(),
            segments: Vec::new(),
            confidence: crate::config::StatsSpec::default().confidence,
            ks: HashMap::new(),
            rows_held: true,
            integrity: Default::default(),
        })
    }

    /// Computes the holdout's integrity facts, once.
    pub fn compute_integrity(&self) -> crate::error::Result<()> {
        if self.integrity.get().is_none() {
            let facts = crate::integrity::compute(
                &self.holdout.table,
                &self.labels,
                crate::integrity::Roles {
                    label: &self.label_column,
                    id: self.id_column.as_deref(),
                    scores: &self.score_columns,
                    weight: self.weight_column.as_deref(),
                },
                self.reference.as_ref().map(|r| &r.table),
            )?;
            let _ = self.integrity.set(facts);
        }
        Ok(())
    }
}

/// The memory budget of one gate: the sum of all its linear memories and
/// tables (each element charged [`TABLE_ELEMENT_BYTES`]), however many it
/// creates, within [`MAX_MEMORIES`] memories, [`MAX_TABLES`] tables and
/// [`MAX_INSTANCES`] instances. It remembers when it was hit, so the report
/// can say which limit stopped the gate.
pub struct MemoryLimit {
    pub max_bytes: usize,
    /// Bytes of memories and tables the gate holds now.
    pub used: usize,
    pub hit: Option<usize>,
}

impl MemoryLimit {
    pub fn new(max_bytes: usize) -> MemoryLimit {
        MemoryLimit {
            max_bytes,
            used: 0,
            hit: None,
        }
    }

    /// Charges growing one memory or table from `current` to `desired` bytes.
    fn grow(&mut self, current: usize, desired: usize) -> WtResult<bool> {
        let total = self.used.saturating_sub(current).saturating_add(desired);
        if total > self.max_bytes {
            self.hit = Some(total);
            return Err(wasmtime::format_err!(
                "memory limit exceeded: the gate asked for {} MiB in all, the limit is {} MiB",
                total >> 20,
                self.max_bytes >> 20
            ));
        }
        self.used = total;
        Ok(true)
    }
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> WtResult<bool> {
        self.grow(current, desired)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> WtResult<bool> {
        self.grow(
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
        )
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

/// A gate's log line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

/// The store data of one gate instance.
pub struct GateState {
    pub run: Arc<RunData>,
    pub gate_id: String,
    pub config_json: String,
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limits: MemoryLimit,
    pub log: Vec<LogLine>,
    /// Why the gate says its outcome has its verdict, if it said.
    pub reason: Option<super::VerdictReason>,
    /// Bytes in `log`, and lines dropped once a cap was reached.
    log_bytes: usize,
    log_dropped: usize,
}

impl GateState {
    /// A state whose WASI context grants nothing: no files, environment,
    /// arguments or network; stdout and stderr go to in-memory pipes; the
    /// clocks stand still and randomness is seeded, so runs are repeatable.
    pub fn new(
        run: Arc<RunData>,
        gate_id: String,
        config_json: String,
        max_memory: usize,
    ) -> (Self, Stdio) {
        let stdout = MemoryOutputPipe::new(MAX_STDIO_BYTES);
        let stderr = MemoryOutputPipe::new(MAX_STDIO_BYTES);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .secure_random(seeded_rng())
            .insecure_random(seeded_rng())
            .insecure_random_seed(0)
            .build();
        let state = GateState {
            run,
            gate_id,
            config_json,
            wasi,
            table: ResourceTable::new(),
            limits: MemoryLimit::new(max_memory),
            log: Vec::new(),
            reason: None,
            log_bytes: 0,
            log_dropped: 0,
        };
        (state, Stdio { stdout, stderr })
    }

    /// Keeps a log line within the caps: each line cut to
    /// [`MAX_LOG_LINE_BYTES`], at most [`MAX_LOG_LINES`] lines and
    /// [`MAX_LOG_BYTES`] in all; what does not fit is counted.
    pub fn push_log(&mut self, level: &'static str, message: &str) {
        let message = cut(message, MAX_LOG_LINE_BYTES);
        if self.log.len() >= MAX_LOG_LINES || self.log_bytes + message.len() > MAX_LOG_BYTES {
            self.log_dropped += 1;
            return;
        }
        self.log_bytes += message.len();
        self.log.push(LogLine { level, message });
    }

    /// The log, ending with a note when a cap dropped lines.
    pub fn take_log(&mut self) -> Vec<LogLine> {
        let mut log = std::mem::take(&mut self.log);
        if self.log_dropped > 0 {
            log.push(LogLine {
                level: "warn",
                message: format!(
                    "log cap reached: {} more lines dropped (limits: {MAX_LOG_LINES} lines, {} KiB)",
                    self.log_dropped,
                    MAX_LOG_BYTES >> 10
                ),
            });
        }
        log
    }
}

/// The captured standard streams of a gate.
pub struct Stdio {
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
}

fn seeded_rng() -> rand::rngs::StdRng {
    use rand::SeedableRng;
    rand::rngs::StdRng::seed_from_u64(0x6d6f_6465_6c67_6174)
}

/// A clock that always reads zero: gates must not depend on time.
struct FrozenClock;

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl WasiView for GateState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for GateState {}

fn curve(points: &[CurvePoint]) -> Vec<types::CurvePoint> {
    points
        .iter()
        .map(|p| types::CurvePoint {
            x: p.x,
            y: p.y,
            threshold: p.threshold.is_finite().then_some(p.threshold),
        })
        .collect()
}

fn wit_profile(p: &ColumnProfile) -> types::ColumnProfile {
    types::ColumnProfile {
        name: p.name.clone(),
        dtype: p.dtype.clone(),
        count: p.count,
        nulls: p.nulls,
        min: p.min,
        max: p.max,
        mean: p.mean,
        std: p.std,
        quantiles: p
            .quantiles
            .iter()
            .map(|(q, value)| types::Quantile {
                q: *q,
                value: *value,
            })
            .collect(),
        histogram: p.histogram.as_ref().map(|h| types::Histogram {
            edges: h.edges.clone(),
            counts: h.counts.clone(),
        }),
        top_categories: p
            .top_categories
            .iter()
            .map(|(value, count)| types::CategoryCount {
                value: value.clone(),
                count: *count,
            })
            .collect(),
        distinct: p.distinct,
    }
}

impl GateState {
    fn dataset(&self, d: types::Dataset) -> Option<&DatasetView> {
        match d {
            types::Dataset::Holdout => Some(&self.run.holdout),
            types::Dataset::Reference => self.run.reference.as_ref(),
        }
    }

    fn model(&self, m: types::ModelRole) -> Option<&ModelView> {
        match m {
            types::ModelRole::Candidate => Some(&self.run.candidate),
            types::ModelRole::Production => self.run.production.as_ref(),
        }
    }
}

/// Why a row read fails on a summarised holdout.
pub const NO_ROWS: &str = "the holdout is a modelgate.summary/v1, which holds counts, profiles and tests but no rows to read";

impl GateState {
    fn rows_held(&self) -> Result<(), String> {
        if self.run.rows_held {
            Ok(())
        } else {
            Err(NO_ROWS.to_string())
        }
    }
}

impl modelgate::gate::host::Host for GateState {
    fn run_context(&mut self) -> types::Context {
        types::Context {
            model: self.run.model.clone(),
            candidate: self.run.candidate_id.clone(),
            production: self.run.production_id.clone(),
            gate_id: self.gate_id.clone(),
            label_column: self.run.label_column.clone(),
            id_column: self.run.id_column.clone(),
            score_columns: self.run.score_columns.clone(),
        }
    }

    fn config(&mut self) -> String {
        self.config_json.clone()
    }

    fn evaluation(&mut self, model: types::ModelRole) -> Option<types::ModelEvaluation> {
        self.model(model).map(|m| types::ModelEvaluation {
            metrics: m
                .metrics
                .iter()
                .map(|(name, value)| types::Metric {
                    name: name.clone(),
                    value: *value,
                    greater_is_better: crate::metrics::ModelMetrics::greater_is_better(name),
                })
                .collect(),
            roc: curve(&m.roc),
            pr: curve(&m.pr),
        })
    }

    fn delta_tests(&mut self) -> Vec<types::DeltaTest> {
        wit_tests(&self.run.delta_tests)
    }

    fn test_margin(
        &mut self,
        metric: String,
        bound: f64,
        greater_is_better: bool,
        alpha: f64,
    ) -> Option<types::MarginTest> {
        let t = self.run.delta_tests.get(&metric)?;
        Some(margin_test(t, metric, bound, greater_is_better, alpha))
    }

    fn segments(&mut self) -> Vec<types::Segment> {
        let metrics = |m: &serde_json::Map<String, serde_json::Value>| -> Vec<types::Metric> {
            m.iter()
                .map(|(name, v)| types::Metric {
                    name: name.clone(),
                    value: v.as_f64(),
                    greater_is_better: crate::metrics::ModelMetrics::greater_is_better(name),
                })
                .collect()
        };
        self.run
            .segments
            .iter()
            .flat_map(|t| t.segments.iter().map(move |s| (t, s)))
            .map(|(t, s)| types::Segment {
                column: t.column.clone(),
                value: s.value.clone(),
                rows: s.rows,
                positives: s.positives,
                status: match s.status {
                    crate::segments::Status::Judged => types::SegmentStatus::Judged,
                    crate::segments::Status::TooSmall => types::SegmentStatus::TooSmall,
                    crate::segments::Status::OneClass => types::SegmentStatus::OneClass,
                },
                min_positives: t.min_positives,
                candidate: metrics(&s.candidate),
                production: s.production.as_ref().map(metrics),
                tests: wit_tests(&s.delta_tests),
            })
            .collect()
    }

    fn test_segment_margin(
        &mut self,
        column: String,
        value: String,
        metric: String,
        bound: f64,
        greater_is_better: bool,
        alpha: f64,
    ) -> Option<types::MarginTest> {
        let t = self
            .run
            .segments
            .iter()
            .find(|t| t.column == column)?
            .segments
            .iter()
            .find(|s| s.value == value)?
            .delta_tests
            .get(&metric)?;
        Some(margin_test(t, metric, bound, greater_is_better, alpha))
    }

    fn confidence_level(&mut self) -> f64 {
        self.run.confidence
    }

    fn test_distribution(&mut self, column: String) -> Option<types::DistributionTest> {
        let t = match self.run.ks.get(&column) {
            Some(t) => t.clone(),
            None => {
                // A column the profile pass did not test (booleans): read
                // straight from the tables, without a cached f64 copy.
                let reference = self.run.reference.as_ref()?.float64(&column).ok()?;
                let holdout = self.run.holdout.float64(&column).ok()?;
                crate::stats::ks::two_sample_by(
                    || reference.iter().map(|x| x.unwrap_or(f64::NAN)),
                    || holdout.iter().map(|x| x.unwrap_or(f64::NAN)),
                )?
            }
        };
        Some(types::DistributionTest {
            column,
            statistic: t.statistic,
            p_value: t.p_value,
            reference_rows: t.reference_rows,
            holdout_rows: t.holdout_rows,
        })
    }

    fn integrity(&mut self) -> types::IntegrityFacts {
        // Computed before any gate that imports `integrity` runs; a gate
        // only sees empty facts when the run failed before it (never here),
        // and zero rows is insufficient evidence, never a pass.
        let empty = crate::integrity::Integrity::default();
        let i = self.run.integrity.get().unwrap_or(&empty);
        types::IntegrityFacts {
            rows: i.rows,
            row_columns: i.row_columns.clone(),
            duplicate_rows: i.duplicate_rows,
            duplicate_ids: i.duplicate_ids,
            overlap: i.overlap.as_ref().map(|o| types::DatasetOverlap {
                reference_rows: o.reference_rows,
                columns: o.columns.clone(),
                shared_rows: o.shared_rows,
                shared_ids: o.shared_ids,
            }),
            feature_aucs: i
                .feature_aucs
                .iter()
                .map(|f| types::FeatureAuc {
                    column: f.column.clone(),
                    auc: f.auc,
                    rows: f.rows,
                })
                .collect(),
        }
    }

    fn row_count(&mut self, data: types::Dataset) -> Option<u64> {
        self.dataset(data).map(|d| d.table.rows() as u64)
    }

    fn profiles(&mut self, data: types::Dataset) -> Option<Vec<types::ColumnProfile>> {
        self.dataset(data)
            .map(|d| d.profiles.iter().map(wit_profile).collect())
    }

    fn read_numeric(
        &mut self,
        data: types::Dataset,
        column: String,
        offset: u64,
        len: u32,
    ) -> Result<Vec<f64>, String> {
        self.rows_held()?;
        let d = self
            .dataset(data)
            .ok_or("the reference dataset is not configured")?;
        d.numeric(&column, offset, len).map_err(|e| e.to_string())
    }

    fn read_text(
        &mut self,
        data: types::Dataset,
        column: String,
        offset: u64,
        len: u32,
    ) -> Result<Vec<Option<String>>, String> {
        self.rows_held()?;
        let d = self
            .dataset(data)
            .ok_or("the reference dataset is not configured")?;
        d.text(&column, offset, len).map_err(|e| e.to_string())
    }

    fn read_scores(
        &mut self,
        model: types::ModelRole,
        offset: u64,
        len: u32,
    ) -> Result<Vec<f64>, String> {
        self.rows_held()?;
        let m = self.model(model).ok_or("there is no production model")?;
        Ok(slice_of(&m.scores, offset, len))
    }

    fn read_labels(&mut self, offset: u64, len: u32) -> Result<Vec<bool>, String> {
        self.rows_held()?;
        Ok(slice_of(&self.run.labels, offset, len))
    }

    fn log(&mut self, level: types::LogLevel, message: String) {
        let level = match level {
            types::LogLevel::Debug => "debug",
            types::LogLevel::Info => "info",
            types::LogLevel::Warn => "warn",
            types::LogLevel::Error => "error",
        };
        self.push_log(level, &message);
    }

    fn set_verdict_reason(&mut self, reason: types::VerdictReason) {
        self.reason = Some(match reason {
            types::VerdictReason::InsufficientEvidence => {
                super::VerdictReason::InsufficientEvidence
            }
        });
    }
}

/// The name under which wasmtime-wasi links the monotonic clock.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Makes WASI sleeps end at once. wasmtime-wasi's `subscribe-duration` and
/// `subscribe-instant` wait on a real timer inside a host call, where epoch
/// interruption cannot reach, so a gate that sleeps would outlive its
/// timeout. A gate's clocks stand still anyway (see [`GateState::new`]), so
/// its pollables are ready at once: a sleep returns, and a loop that polls
/// spins until the epoch deadline stops it.
pub fn freeze_sleep(linker: &mut Linker<GateState>) -> WtResult<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: StoreContextMut<'_, GateState>, (_,): (u64,)| {
            ready_pollable(&mut store.data_mut().table).map(|p| (p,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: StoreContextMut<'_, GateState>, (_,): (u64,)| {
            ready_pollable(&mut store.data_mut().table).map(|p| (p,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// A pollable that is always ready.
struct Ready;

impl Pollable for Ready {
    // `Pollable` is an `async_trait`; this is its expanded signature, written
    // out to avoid a dependency on the macro for one empty future.
    fn ready<'a, 'b>(&'a mut self) -> Pin<Box<dyn Future<Output = ()> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(std::future::ready(()))
    }
}

fn ready_pollable(table: &mut ResourceTable) -> WtResult<Resource<DynPollable>> {
    let ready = table.push(Ready)?;
    wasmtime_wasi::p2::subscribe(table, ready)
}

fn wit_tests(
    tests: &std::collections::BTreeMap<String, crate::stats::DeltaTest>,
) -> Vec<types::DeltaTest> {
    tests
        .iter()
        .map(|(metric, t)| types::DeltaTest {
            metric: metric.clone(),
            method: t.method.to_string(),
            delta: t.delta,
            low: t.low,
            high: t.high,
            p_value: t.p_value,
        })
        .collect()
}

/// A one-sided test of `t`'s improvement against `bound` (WIT `margin-test`).
fn margin_test(
    t: &crate::stats::DeltaTest,
    metric: String,
    bound: f64,
    greater_is_better: bool,
    alpha: f64,
) -> types::MarginTest {
    let (p_value, p_value_short) = crate::stats::one_sided(t, bound, greater_is_better);
    // The power of the report's "cannot be detected" sentence.
    let detectable = crate::stats::detectable(t, alpha.clamp(1e-12, 0.5), 0.8);
    types::MarginTest {
        improvement: if greater_is_better { t.delta } else { -t.delta },
        metric,
        method: t.method.to_string(),
        bound,
        p_value,
        p_value_short,
        detectable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_budget_is_the_sum_of_every_memory_and_table() {
        let mut m = MemoryLimit::new(64 << 20);
        // One memory grows to 40 MiB: within budget.
        assert!(m.memory_growing(0, 40 << 20, None).unwrap());
        // A second memory of 40 MiB would make 80 MiB: refused, and recorded.
        assert!(m.memory_growing(0, 40 << 20, None).is_err());
        assert_eq!(m.hit, Some(80 << 20));
        // Tables count too: 2M elements at 16 bytes are 32 MiB more.
        let mut m = MemoryLimit::new(64 << 20);
        assert!(m.memory_growing(0, 40 << 20, None).unwrap());
        assert!(m.table_growing(0, 2 << 20, None).is_err());
        // Growing the same memory charges only the difference.
        let mut m = MemoryLimit::new(64 << 20);
        assert!(m.memory_growing(0, 30 << 20, None).unwrap());
        assert!(m.memory_growing(30 << 20, 60 << 20, None).unwrap());
        assert_eq!(m.used, 60 << 20);
        assert!(m.memories() <= MAX_MEMORIES && m.instances() <= MAX_INSTANCES);
    }

    #[test]
    fn the_log_is_capped_per_line_in_lines_and_in_bytes() {
        let (mut state, _stdio) =
            GateState::new(RunData::empty(), "g".into(), "{}".into(), 1 << 20);
        state.push_log("info", &"x".repeat(10 * MAX_LOG_LINE_BYTES));
        assert!(state.log[0].message.len() < MAX_LOG_LINE_BYTES + 64);
        assert!(state.log[0].message.contains("[cut: "));
        for _ in 0..100 {
            state.push_log("info", &"y".repeat(MAX_LOG_LINE_BYTES));
        }
        let log = state.take_log();
        let bytes: usize = log.iter().map(|l| l.message.len()).sum();
        assert!(bytes <= MAX_LOG_BYTES + 256, "{bytes}");
        let last = &log.last().unwrap().message;
        assert!(last.starts_with("log cap reached: "), "{last}");
    }
}
