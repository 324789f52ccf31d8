//! What a gate sees: the `modelgate:gate/host` imports, served from the run's
//! shared data, and a WASI context that grants nothing. One [`GateState`]
//! lives in each gate's store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polars::prelude::*;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Result as WtResult};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::data::profile::ColumnProfile;
use crate::metrics::CurvePoint;

use super::wit::latest::modelgate;
pub use super::wit::latest::{Gate, GatePre};
use modelgate::gate::types;

/// Most rows one read call may ask for; larger requests get this many.
pub const MAX_READ_ROWS: u32 = 1 << 20;
/// Bytes of stdout and stderr kept per gate.
pub const MAX_STDIO_BYTES: usize = 64 * 1024;
/// Log lines kept per gate.
pub const MAX_LOG_LINES: usize = 1000;

/// One dataset as gates see it.
#[derive(Debug)]
pub struct DatasetView {
    pub frame: DataFrame,
    pub profiles: Vec<ColumnProfile>,
    numeric: Mutex<HashMap<String, Arc<Vec<f64>>>>,
}

impl DatasetView {
    pub fn new(frame: DataFrame, profiles: Vec<ColumnProfile>) -> Self {
        DatasetView {
            frame,
            profiles,
            numeric: Mutex::new(HashMap::new()),
        }
    }

    /// The column as f64 with missing values as NaN, cast once and shared.
    fn numeric(&self, column: &str) -> Result<Arc<Vec<f64>>, ReadError> {
        let mut cache = self.numeric.lock().map_err(|_| ReadError::Poisoned)?;
        if let Some(v) = cache.get(column) {
            return Ok(v.clone());
        }
        let s = self
            .frame
            .column(column)
            .map_err(|_| ReadError::NoColumn(column.to_string()))?
            .as_materialized_series();
        if !(s.dtype().is_integer() || s.dtype().is_float() || s.dtype().is_bool()) {
            return Err(ReadError::NotNumeric {
                column: column.to_string(),
                dtype: s.dtype().to_string(),
            });
        }
        let cast = s.cast(&DataType::Float64)?;
        let v: Vec<f64> = cast.f64()?.iter().map(|x| x.unwrap_or(f64::NAN)).collect();
        let v = Arc::new(v);
        cache.insert(column.to_string(), v.clone());
        Ok(v)
    }

    fn text(&self, column: &str, offset: u64, len: u32) -> Result<Vec<Option<String>>, ReadError> {
        let s = self
            .frame
            .column(column)
            .map_err(|_| ReadError::NoColumn(column.to_string()))?
            .as_materialized_series();
        let (start, n) = window(s.len(), offset, len);
        let slice = s.slice(start as i64, n).cast(&DataType::String)?;
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
    pub candidate: ModelView,
    pub production: Option<ModelView>,
    pub labels: Arc<Vec<bool>>,
    pub holdout: DatasetView,
    pub reference: Option<DatasetView>,
    /// Tests of candidate minus production, by metric.
    pub delta_tests: std::collections::BTreeMap<String, crate::stats::DeltaTest>,
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
            candidate: model,
            production: None,
            labels: Arc::new(Vec::new()),
            holdout: DatasetView::new(DataFrame::empty(), Vec::new()),
            reference: None,
            delta_tests: Default::default(),
        })
    }
}

/// Memory limit for one gate that remembers when it was hit, so the report
/// can say which limit stopped the gate.
pub struct MemoryLimit {
    pub max_bytes: usize,
    pub hit: Option<usize>,
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> WtResult<bool> {
        if desired > self.max_bytes {
            self.hit = Some(desired);
            return Err(wasmtime::format_err!(
                "memory limit exceeded: the gate asked for {} MiB, the limit is {} MiB",
                desired >> 20,
                self.max_bytes >> 20
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> WtResult<bool> {
        Ok(desired <= 100_000)
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
            limits: MemoryLimit {
                max_bytes: max_memory,
                hit: None,
            },
            log: Vec::new(),
        };
        (state, Stdio { stdout, stderr })
    }

    fn push_log(&mut self, level: &'static str, message: String) {
        if self.log.len() < MAX_LOG_LINES {
            self.log.push(LogLine { level, message });
        }
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
        self.run
            .delta_tests
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

    fn row_count(&mut self, data: types::Dataset) -> Option<u64> {
        self.dataset(data).map(|d| d.frame.height() as u64)
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
        let d = self
            .dataset(data)
            .ok_or("the reference dataset is not configured")?;
        let v = d.numeric(&column).map_err(|e| e.to_string())?;
        Ok(slice_of(&v, offset, len))
    }

    fn read_text(
        &mut self,
        data: types::Dataset,
        column: String,
        offset: u64,
        len: u32,
    ) -> Result<Vec<Option<String>>, String> {
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
        let m = self.model(model).ok_or("there is no production model")?;
        Ok(slice_of(&m.scores, offset, len))
    }

    fn read_labels(&mut self, offset: u64, len: u32) -> Result<Vec<bool>, String> {
        Ok(slice_of(&self.run.labels, offset, len))
    }

    fn log(&mut self, level: types::LogLevel, message: String) {
        let level = match level {
            types::LogLevel::Debug => "debug",
            types::LogLevel::Info => "info",
            types::LogLevel::Warn => "warn",
            types::LogLevel::Error => "error",
        };
        self.push_log(level, message);
    }
}
