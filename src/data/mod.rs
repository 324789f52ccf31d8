//! Tabular data through polars: lazy scans that read only the needed
//! columns, and the validation that runs before any metric is computed. Every
//! failure names the file and column and gives counts and example row ids.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::hash::Hash;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::config::{DataFormat, HoldoutSpec, LabelValue};
use crate::error::{Error, Result};

mod digest;
mod locate;
pub mod profile;
pub mod summary;
mod table;

pub use digest::{file_sha256, files_sha256};
pub use table::{Table, bounded_map};

/// How many example row ids an error message shows.
const EXAMPLES: usize = 5;

/// A polars error on a data file, naming the line at fault when polars does
/// not (see [`locate`]).
fn read_error(action: &'static str, path: &Path, e: PolarsError) -> Error {
    let located = DataFormat::from_path(path)
        .and_then(|format| locate::bad_line(path, format, &e.to_string()));
    match located {
        Some(message) => Error::data(path, message),
        None => Error::polars(action, path, e),
    }
}

/// Opens a lazy scan of a data file.
pub fn scan(path: &Path, format: DataFormat) -> Result<LazyFrame> {
    if !path.is_file() {
        let why = if path.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        return Err(Error::data(path, format!("the file {why}")));
    }
    let pl_path = PlRefPath::try_from_path(path).map_err(|e| read_error("cannot open", path, e))?;
    let lf = match format {
        DataFormat::Parquet => LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()),
        DataFormat::Csv | DataFormat::CsvGz => {
            if let Some(message) = locate::ragged_csv(path, format == DataFormat::CsvGz) {
                return Err(Error::data(path, message));
            }
            LazyCsvReader::new(pl_path)
                .with_has_header(true)
                .with_infer_schema_length(Some(10_000))
                .finish()
        }
        DataFormat::NdJson => LazyJsonLineReader::new(pl_path).finish(),
    };
    lf.map_err(|e| read_error("cannot open", path, e))
}

/// Which columns to read besides the ones a caller names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// Only the named ones (evaluation alone).
    Named,
    /// Every column (data gates profile them all).
    All,
}

/// Reads the named columns (in order, without duplicates) from a data file,
/// or every column with [`Columns::All`]. A missing named column is reported
/// with the list of columns that do exist.
pub fn read_columns(
    path: &Path,
    format: DataFormat,
    wanted: &[(&str, &str)],
    columns: Columns,
) -> Result<DataFrame> {
    let mut lf = scan(path, format)?;
    let schema = lf
        .collect_schema()
        .map_err(|e| read_error("cannot read the schema of", path, e))?;
    let mut names: Vec<&str> = Vec::new();
    for (role, name) in wanted {
        if schema.get(name).is_none() {
            let available: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
            return Err(Error::data(
                path,
                format!(
                    "no column `{name}` ({role}); the file has {} columns: {}",
                    available.len(),
                    abbreviate(&available, 40)
                ),
            ));
        }
        if !names.contains(name) {
            names.push(name);
        }
    }
    let lf = match columns {
        Columns::Named => lf.select(names.iter().map(|n| col(*n)).collect::<Vec<Expr>>()),
        Columns::All => {
            refuse_unreadable(path, &schema)?;
            lf
        }
    };
    lf.collect().map_err(|e| read_error("cannot read", path, e))
}

/// Every column is profiled for the gates: refuses, once and by name, a
/// type that is neither a number, text nor a time.
fn refuse_unreadable(path: &Path, schema: &Schema) -> Result<()> {
    match schema.iter().find(|(_, dt)| !is_readable(dt)) {
        Some((name, dt)) => Err(Error::data(
            path,
            format!(
                "column `{name}` has type {dt}, which modelgate reads neither as numbers nor as text; drop or convert it"
            ),
        )),
        None => Ok(()),
    }
}

fn abbreviate(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!(
            "{}, … ({} more)",
            items[..max].join(", "),
            items.len() - max
        )
    }
}

/// How rows are named in error messages: by the configured id column, or by
/// 0-based row index when there is none.
#[derive(Debug, Clone)]
pub enum RowNames {
    Index,
    Column(Series),
    /// The id column of a file, read only when an error names rows: a
    /// 100M-row id column is 800 MB that no passing run looks at.
    File {
        path: PathBuf,
        format: DataFormat,
        column: String,
    },
}

impl RowNames {
    /// "transaction_id 17, 40" or "rows 17, 40 (0-based)".
    pub fn describe(&self, rows: &[usize]) -> String {
        let shown = &rows[..rows.len().min(EXAMPLES)];
        match self {
            RowNames::Index => {
                let list: Vec<String> = shown.iter().map(|r| r.to_string()).collect();
                format!("rows {} (0-based)", list.join(", "))
            }
            RowNames::File {
                path,
                format,
                column,
            } => match read_columns(path, *format, &[("holdout.id", column)], Columns::Named) {
                Ok(frame) => match frame.column(column) {
                    Ok(c) => RowNames::Column(c.as_materialized_series().clone()).describe(rows),
                    Err(_) => RowNames::Index.describe(rows),
                },
                Err(_) => RowNames::Index.describe(rows),
            },
            RowNames::Column(s) => {
                let list: Vec<String> = shown
                    .iter()
                    .map(|r| match s.get(*r) {
                        Ok(AnyValue::String(v)) => v.to_string(),
                        Ok(v) => v.to_string(),
                        Err(_) => format!("row {r}"),
                    })
                    .collect();
                format!("{} {}", s.name(), list.join(", "))
            }
        }
    }
}

/// The holdout: labels plus the columns the models read.
#[derive(Debug)]
pub struct Holdout {
    pub path: PathBuf,
    pub frame: DataFrame,
    pub labels: Vec<bool>,
    pub row_names: RowNames,
    /// `holdout.amount`, validated, when configured.
    pub amounts: Option<Vec<f64>>,
    /// `holdout.weight`, validated, when configured.
    pub weights: Option<Vec<f64>>,
}

impl Holdout {
    /// A holdout with no rows in memory (a summary's).
    pub fn empty(path: &Path) -> Holdout {
        Holdout {
            path: path.to_path_buf(),
            frame: DataFrame::empty(),
            labels: Vec::new(),
            row_names: RowNames::Index,
            amounts: None,
            weights: None,
        }
    }

    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    pub fn positives(&self) -> usize {
        self.labels.iter().filter(|l| **l).count()
    }

    /// A score column of the holdout, validated.
    pub fn score_column(&self, name: &str) -> Result<Vec<f64>> {
        let column = self
            .frame
            .column(name)
            .map_err(|e| read_error("cannot find a score column in", &self.path, e))?;
        scores(&self.path, column.as_materialized_series(), &self.row_names)
    }
}

/// Loads and validates the holdout, keeping the label, the id, the amount,
/// the model inputs named in `columns` (score columns, features) and the
/// `extra` columns, each with the role an error names it by.
pub fn load_holdout(
    spec: &HoldoutSpec,
    columns: &[String],
    extra: &[(&str, &str)],
    which: Columns,
) -> Result<Holdout> {
    // The id is read with the rest only when something reads it (a scores
    // file joined on it, a segment); errors read it from the file.
    let id_needed = spec.id.as_ref().is_some_and(|id| {
        which == Columns::All || columns.contains(id) || extra.iter().any(|(_, e)| e == id)
    });
    // What scoring, segments and the alert budget read from the frame.
    let keep: Vec<&str> = columns
        .iter()
        .map(String::as_str)
        .chain(extra.iter().map(|(_, name)| *name))
        .chain(spec.id.as_deref().filter(|_| id_needed))
        .collect();
    // The label, amount and weight live on as validated vectors: each is
    // read alone, converted and dropped before the next (at 100M rows each
    // is 800 MB, and a read holds more while it decodes), unless scoring
    // or a segment reads it too.
    let alone = |name: &str| which == Columns::Named && !keep.contains(&name);
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    let mut own = vec![("holdout.label", spec.label.as_str())];
    own.extend(spec.amount.as_deref().map(|a| ("holdout.amount", a)));
    own.extend(spec.weight.as_deref().map(|w| ("holdout.weight", w)));
    wanted.extend(own.iter().filter(|(_, name)| !alone(name)));
    if let Some(id) = spec.id.as_ref().filter(|_| id_needed) {
        wanted.push(("holdout.id", id));
    }
    for c in columns {
        wanted.push(("a model input", c));
    }
    wanted.extend_from_slice(extra);
    if let Some(id) = spec.id.as_ref().filter(|_| !id_needed)
        && !scan(&spec.path, spec.format)?
            .collect_schema()
            .map_err(|e| read_error("cannot read the schema of", &spec.path, e))?
            .contains(id)
    {
        // Checked up front as before, though the column is read only on demand.
        wanted.push(("holdout.id", id));
    }
    let frame = if wanted.is_empty() {
        DataFrame::empty()
    } else {
        read_columns(&spec.path, spec.format, &wanted, which)?
    };
    let row_names = match &spec.id {
        Some(id) if id_needed => {
            let s = frame
                .column(id)
                .map_err(|e| read_error("cannot read", &spec.path, e))?
                .as_materialized_series()
                .clone();
            RowNames::Column(s)
        }
        Some(id) => RowNames::File {
            path: spec.path.clone(),
            format: spec.format,
            column: id.clone(),
        },
        None => RowNames::Index,
    };
    let take = |role: &str, name: &str| -> Result<Series> {
        let column = if alone(name) {
            let mut one = read_columns(&spec.path, spec.format, &[(role, name)], Columns::Named)?;
            one.drop_in_place(name)
        } else {
            frame.column(name).cloned()
        };
        column
            .map(|c| c.as_materialized_series().clone())
            .map_err(|e| read_error("cannot read", &spec.path, e))
    };
    let label = take("holdout.label", &spec.label)?;
    if label.is_empty() {
        return Err(Error::data(&spec.path, "the holdout has no rows"));
    }
    let labels = labels(&spec.path, &label, spec.positive.as_ref(), &row_names)?;
    drop(label);
    let amounts = match &spec.amount {
        Some(column) => Some(amounts(
            &spec.path,
            &take("holdout.amount", column)?,
            &row_names,
        )?),
        None => None,
    };
    let weights = match &spec.weight {
        Some(column) => Some(weights(
            &spec.path,
            &take("holdout.weight", column)?,
            &labels,
            &row_names,
        )?),
        None => None,
    };
    Ok(Holdout {
        path: spec.path.clone(),
        frame,
        labels,
        row_names,
        amounts,
        weights,
    })
}

/// Each row's calendar day (UTC) of a date or datetime column, numbered
/// from 0 in date order, for a per-day alert budget. Text is parsed as an
/// ISO 8601 date or datetime; epoch numbers are refused, since their unit
/// would be a guess.
pub fn days(path: &Path, frame: &DataFrame, column: &str) -> Result<Vec<u32>> {
    let s = frame
        .column(column)
        .map_err(|e| read_error("cannot read", path, e))?
        .as_materialized_series();
    let bad = |why: String| {
        Error::data(
            path,
            format!("column `{column}` (metrics.alert_budget.timestamp): {why}"),
        )
    };
    let dates = match s.dtype() {
        DataType::Date | DataType::Datetime(..) => s.cast(&DataType::Date),
        DataType::String => {
            let text = s.str().map_err(|e| bad(e.to_string()))?;
            let days: Int32Chunked = text.iter().map(|t| t.and_then(iso_day)).collect();
            Ok(days.into_series())
        }
        dt => {
            return Err(bad(format!(
                "has type {dt}; expected a date or datetime (or ISO 8601 text such as 2026-11-30T14:05:00)"
            )));
        }
    }
    .map_err(|e| bad(format!("cannot be read as dates: {e}")))?;
    let physical = dates.to_physical_repr().into_owned();
    let days = physical.i32().map_err(|e| bad(e.to_string()))?;
    // Text that does not parse becomes null in the cast; so do missing values.
    let missing: Vec<usize> = days
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_none())
        .map(|(i, _)| i)
        .take(EXAMPLES)
        .collect();
    if !missing.is_empty() {
        let n = days.null_count();
        return Err(bad(format!(
            "{n} rows have no date (missing, or text that is not ISO 8601), e.g. rows {} (0-based); every row needs its day",
            missing
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let first = days.min().unwrap_or(0);
    Ok(days
        .into_no_null_iter()
        .map(|d| (d - first) as u32)
        .collect())
}

/// Days since 1970-01-01 of text that starts with an ISO 8601 date
/// (`2026-11-30`, `2026-11-30T14:05:00Z`, `2026-11-30 14:05:00`): the
/// date as written, so text with a UTC offset counts by its local date.
/// Hand-written (Hinnant's days-from-civil) because polars parses dates
/// from text only behind a feature that would add to every build.
fn iso_day(text: &str) -> Option<i32> {
    let b = text.as_bytes();
    if b.len() < 10
        || b[4] != b'-'
        || b[7] != b'-'
        || b.get(10).is_some_and(|c| !matches!(c, b'T' | b't' | b' '))
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i32::try_from(era * 146_097 + doe - 719_468).ok()
}

/// Integers, floats and decimals: what casts to a number without guessing.
fn is_number(dt: &DataType) -> bool {
    dt.is_numeric()
}

/// Whether modelgate can read a column at all: as a number (numbers,
/// booleans), as text (strings, categoricals, enums) or as a point in time
/// (profiled by its range). Lists, structs, binary and objects are not.
pub fn is_readable(dt: &DataType) -> bool {
    dt.is_numeric()
        || dt.is_temporal()
        || dt.is_categorical()
        || dt.is_enum()
        || matches!(dt, DataType::Boolean | DataType::String | DataType::Null)
}

/// Converts a label column into booleans (true = positive class).
pub fn labels(
    path: &Path,
    s: &Series,
    positive: Option<&LabelValue>,
    names: &RowNames,
) -> Result<Vec<bool>> {
    let name = s.name().to_string();
    if s.null_count() > 0 {
        let rows: Vec<usize> = s
            .is_null()
            .iter()
            .enumerate()
            .filter_map(|(i, v)| (v == Some(true)).then_some(i))
            .collect();
        return Err(Error::data(
            path,
            format!(
                "label column `{name}` has {} missing values, e.g. {}; every holdout row needs a label",
                rows.len(),
                names.describe(&rows)
            ),
        ));
    }
    let cast_err = |e| read_error("cannot read the label column of", path, e);
    // A pandas `category` label reads as the text of its categories.
    let text;
    let s = if s.dtype().is_categorical() || s.dtype().is_enum() {
        text = s.cast(&DataType::String).map_err(cast_err)?;
        &text
    } else {
        s
    };
    let dtype = s.dtype().clone();
    match (&dtype, positive) {
        (DataType::Boolean, None | Some(LabelValue::Bool(_))) => {
            let want = match positive {
                Some(LabelValue::Bool(b)) => *b,
                _ => true,
            };
            Ok(s.bool()
                .map_err(cast_err)?
                .iter()
                .map(|v| v == Some(want))
                .collect())
        }
        (dt, None) if is_number(dt) => {
            if let Some(flags) = binary_flags(s) {
                return Ok(flags);
            }
            let v = s.cast(&DataType::Float64).map_err(cast_err)?;
            let v: Vec<f64> = v.f64().map_err(cast_err)?.into_no_null_iter().collect();
            let bad: Vec<usize> = v
                .iter()
                .enumerate()
                .filter(|(_, x)| **x != 0.0 && **x != 1.0)
                .map(|(i, _)| i)
                .collect();
            if !bad.is_empty() {
                let distinct = distinct_counts(v.iter().map(|x| FloatKey(*x)));
                return Err(non_binary(path, &name, &distinct, &bad, names, "0 and 1"));
            }
            Ok(v.iter().map(|x| *x == 1.0).collect())
        }
        (dt, Some(LabelValue::Int(k))) if is_number(dt) => {
            let v = s.cast(&DataType::Float64).map_err(cast_err)?;
            let v: Vec<f64> = v.f64().map_err(cast_err)?.into_no_null_iter().collect();
            let distinct = distinct_counts(v.iter().map(|x| FloatKey(*x)));
            check_two_values(path, &name, &distinct, names, |x: &FloatKey| {
                v.iter().position(|y| FloatKey(*y) == *x)
            })?;
            Ok(v.iter().map(|x| *x == *k as f64).collect())
        }
        (DataType::String, _) => {
            let ca = s.str().map_err(cast_err)?;
            let v: Vec<&str> = ca.iter().map(|v| v.unwrap_or_default()).collect();
            let distinct = distinct_counts(v.iter().copied());
            let positive_text = match positive {
                Some(LabelValue::Text(t)) => t.clone(),
                Some(other) => other.to_string(),
                None => {
                    let keys: Vec<String> =
                        distinct.keys().map(|k| k.to_ascii_lowercase()).collect();
                    let all_in = |set: &[&str]| keys.iter().all(|k| set.contains(&k.as_str()));
                    if all_in(&["0", "1"]) {
                        "1".to_string()
                    } else if all_in(&["true", "false"]) {
                        return Ok(v.iter().map(|x| x.eq_ignore_ascii_case("true")).collect());
                    } else {
                        return Err(Error::data(
                            path,
                            format!(
                                "label column `{name}` holds text ({}); name the positive class with `holdout.positive`",
                                describe_distinct(&distinct)
                            ),
                        ));
                    }
                }
            };
            check_two_values(path, &name, &distinct, names, |x: &&str| {
                v.iter().position(|y| y == x)
            })?;
            Ok(v.iter().map(|x| *x == positive_text).collect())
        }
        (dt, Some(p)) => Err(Error::data(
            path,
            format!(
                "label column `{name}` has type {dt}, which cannot be compared with `holdout.positive: {p}`"
            ),
        )),
        (dt, None) => Err(Error::data(
            path,
            format!(
                "label column `{name}` has type {dt}; expected 0/1 integers, booleans, or two text values with `holdout.positive`"
            ),
        )),
    }
}

/// 0/1 labels without nulls read in the column's own numeric type; `None`
/// when a value is neither 0 nor 1 (or the type is not a number), for the
/// reading through f64 that names the bad rows. Casting a valid label
/// column to f64 first wrote it out twice more (160 MB at 10M rows, in
/// fresh pages) for nothing.
fn binary_flags(s: &Series) -> Option<Vec<bool>> {
    use num_traits::AsPrimitive;
    struct Flags {
        out: Vec<bool>,
        binary: bool,
    }
    impl profile::Visit for Flags {
        fn slice<N: AsPrimitive<f64>>(&mut self, xs: &[N]) {
            let flag = |x: &N| -> f64 { x.as_() };
            self.binary &= xs.iter().fold(true, |ok, x| {
                let x = flag(x);
                ok & (x == 0.0 || x == 1.0)
            });
            if self.binary {
                self.out.extend(xs.iter().map(|x| flag(x) == 1.0));
            }
        }

        fn at(&mut self, x: Option<f64>) {
            match x {
                Some(x) if x == 0.0 || x == 1.0 => self.out.push(x == 1.0),
                _ => self.binary = false,
            }
        }
    }
    let mut flags = Flags {
        out: Vec::with_capacity(s.len()),
        binary: true,
    };
    profile::visit(s, &mut flags)?;
    flags.binary.then_some(flags.out)
}

/// Floats as map keys; labels never hold NaN once nulls are rejected, and a
/// stray NaN simply becomes its own key.
#[derive(Debug, Clone, Copy)]
struct FloatKey(f64);
impl PartialEq for FloatKey {
    fn eq(&self, o: &Self) -> bool {
        self.0.to_bits() == o.0.to_bits()
    }
}
impl Eq for FloatKey {}
impl PartialOrd for FloatKey {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for FloatKey {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}
impl Display for FloatKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

fn distinct_counts<K: Ord>(values: impl Iterator<Item = K>) -> BTreeMap<K, usize> {
    let mut m = BTreeMap::new();
    for v in values {
        *m.entry(v).or_insert(0) += 1;
    }
    m
}

fn describe_distinct<K: Display>(m: &BTreeMap<K, usize>) -> String {
    let items: Vec<String> = m
        .iter()
        .take(8)
        .map(|(k, c)| format!("{k}: {c} rows"))
        .collect();
    let more = if m.len() > 8 {
        format!(", … {} more", m.len() - 8)
    } else {
        String::new()
    };
    format!("{} distinct values: {}{more}", m.len(), items.join(", "))
}

fn non_binary<K: Display>(
    path: &Path,
    name: &str,
    distinct: &BTreeMap<K, usize>,
    bad: &[usize],
    names: &RowNames,
    expected: &str,
) -> Error {
    Error::data(
        path,
        format!(
            "label column `{name}` is not binary ({}); {} rows hold values other than {expected}, e.g. {}. \
             Map the label to 0/1, or name the positive class with `holdout.positive`",
            describe_distinct(distinct),
            bad.len(),
            names.describe(bad)
        ),
    )
}

fn check_two_values<K: Display + Ord>(
    path: &Path,
    name: &str,
    distinct: &BTreeMap<K, usize>,
    names: &RowNames,
    first_row: impl Fn(&K) -> Option<usize>,
) -> Result<()> {
    if distinct.len() <= 2 {
        return Ok(());
    }
    // Rows holding the rarer values are the likely mistakes.
    let mut by_count: Vec<(&K, &usize)> = distinct.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1));
    let rare: Vec<usize> = by_count[2..]
        .iter()
        .filter_map(|(k, _)| first_row(k))
        .collect();
    Err(Error::data(
        path,
        format!(
            "label column `{name}` is not binary ({}), e.g. {}",
            describe_distinct(distinct),
            names.describe(&rare)
        ),
    ))
}

/// A numeric column as `f64` values (nulls kept as nulls).
fn float64(path: &Path, s: &Series, action: &'static str) -> Result<Float64Chunked> {
    let cast = s
        .cast(&DataType::Float64)
        .map_err(|e| read_error(action, path, e))?;
    cast.f64().cloned().map_err(|e| read_error(action, path, e))
}

/// Validates a score column: numeric, no nulls, all finite.
pub fn scores(path: &Path, s: &Series, names: &RowNames) -> Result<Vec<f64>> {
    finite_numbers(path, s, names, "score")
}

/// The `holdout.amount` column: a finite, non-negative amount on every row,
/// since a fraud's amount is what the dollar metrics add up.
pub fn amounts(path: &Path, s: &Series, names: &RowNames) -> Result<Vec<f64>> {
    non_negative(path, s, names, "amount")
}

/// `holdout.weight`: finite and non-negative on every row, with weight in
/// both classes (a class weighing nothing leaves no metric defined).
pub fn weights(path: &Path, s: &Series, labels: &[bool], names: &RowNames) -> Result<Vec<f64>> {
    let v = non_negative(path, s, names, "weight")?;
    for (class, positive) in [("positive", true), ("negative", false)] {
        let total: f64 = v
            .iter()
            .zip(labels)
            .filter(|(_, l)| **l == positive)
            .map(|(w, _)| w)
            .sum();
        if total <= 0.0 {
            return Err(Error::data(
                path,
                format!(
                    "weight column `{}` gives the {class} rows no weight in total; both classes need some",
                    s.name()
                ),
            ));
        }
    }
    Ok(v)
}

fn non_negative(path: &Path, s: &Series, names: &RowNames, what: &str) -> Result<Vec<f64>> {
    let v = finite_numbers(path, s, names, what)?;
    let negative: Vec<usize> = (0..v.len()).filter(|i| v[*i] < 0.0).collect();
    if negative.is_empty() {
        return Ok(v);
    }
    Err(Error::data(
        path,
        format!(
            "{what} column `{}` is negative in {} of {} rows, e.g. {}; {what}s must be >= 0",
            s.name(),
            negative.len(),
            v.len(),
            names.describe(&negative)
        ),
    ))
}

/// A numeric column with a finite value on every row; `what` names its role
/// in errors.
fn finite_numbers(path: &Path, s: &Series, names: &RowNames, what: &str) -> Result<Vec<f64>> {
    let name = s.name().to_string();
    if !is_number(s.dtype()) {
        return Err(Error::data(
            path,
            format!(
                "{what} column `{name}` has type {}; expected numbers",
                s.dtype()
            ),
        ));
    }
    let ca = float64(path, s, "cannot read a numeric column of")?;
    let mut out = Vec::with_capacity(ca.len());
    let (mut nulls, mut nonfinite) = (Vec::new(), Vec::new());
    for arr in ca.downcast_iter() {
        use polars_arrow::array::Array;
        // An array without nulls whose values are all finite (every array
        // of a valid column) is copied whole, not value by value through
        // an `Option` each.
        let values = arr.values().as_slice();
        if arr.null_count() == 0 && values.iter().fold(true, |ok, x| ok & x.is_finite()) {
            out.extend_from_slice(values);
            continue;
        }
        for v in arr.iter() {
            let i = out.len();
            match v.copied() {
                None => {
                    nulls.push(i);
                    out.push(f64::NAN);
                }
                Some(x) if !x.is_finite() => {
                    nonfinite.push(i);
                    out.push(x);
                }
                Some(x) => out.push(x),
            }
        }
    }
    if nulls.is_empty() && nonfinite.is_empty() {
        return Ok(out);
    }
    let mut parts = Vec::new();
    if !nulls.is_empty() {
        parts.push(format!(
            "{} missing, e.g. {}",
            nulls.len(),
            names.describe(&nulls)
        ));
    }
    if !nonfinite.is_empty() {
        parts.push(format!(
            "{} NaN or infinite, e.g. {}",
            nonfinite.len(),
            names.describe(&nonfinite)
        ));
    }
    Err(Error::data(
        path,
        format!(
            "{what} column `{name}` has unusable values in {} of {} rows: {}; every row needs a finite {what}",
            nulls.len() + nonfinite.len(),
            out.len(),
            parts.join("; ")
        ),
    ))
}

/// Reads a score column from another file and aligns it with the holdout
/// rows by id. The join must be one-to-one: no duplicate, missing or extra ids.
pub fn scores_from_file(
    holdout: &Holdout,
    holdout_id: &str,
    path: &Path,
    format: DataFormat,
    column: &str,
    join_on: &str,
) -> Result<Vec<f64>> {
    let df = read_columns(
        path,
        format,
        &[("scores.join_on", join_on), ("scores.column", column)],
        Columns::Named,
    )?;
    let file_ids = df
        .column(join_on)
        .map_err(|e| read_error("cannot read", path, e))?
        .as_materialized_series()
        .clone();
    let file_names = RowNames::Column(file_ids.clone());
    let file_scores = scores(
        path,
        df.column(column)
            .map_err(|e| read_error("cannot read", path, e))?
            .as_materialized_series(),
        &file_names,
    )?;
    let holdout_ids = holdout
        .frame
        .column(holdout_id)
        .map_err(|e| read_error("cannot read", &holdout.path, e))?
        .as_materialized_series();

    let both_int = holdout_ids.dtype().is_integer() && file_ids.dtype().is_integer();
    let target = if both_int {
        DataType::Int64
    } else {
        DataType::String
    };
    let h = holdout_ids
        .cast(&target)
        .map_err(|e| read_error("cannot read the id column of", &holdout.path, e))?;
    let f = file_ids
        .cast(&target)
        .map_err(|e| read_error("cannot read the id column of", path, e))?;
    let order = if both_int {
        let h: Vec<Option<i64>> = h
            .i64()
            .map_err(|e| read_error("cannot read", &holdout.path, e))?
            .iter()
            .collect();
        let f: Vec<Option<i64>> = f
            .i64()
            .map_err(|e| read_error("cannot read", path, e))?
            .iter()
            .collect();
        align(&holdout.path, holdout_id, &h, path, join_on, &f)?
    } else {
        let h: Vec<Option<&str>> = h
            .str()
            .map_err(|e| read_error("cannot read", &holdout.path, e))?
            .iter()
            .collect();
        let f: Vec<Option<&str>> = f
            .str()
            .map_err(|e| read_error("cannot read", path, e))?
            .iter()
            .collect();
        align(&holdout.path, holdout_id, &h, path, join_on, &f)?
    };
    Ok(order.into_iter().map(|i| file_scores[i]).collect())
}

/// For each holdout row, the index of the score-file row with the same id.
fn align<K: Hash + Eq + Display + Copy>(
    holdout_path: &Path,
    holdout_col: &str,
    holdout: &[Option<K>],
    file_path: &Path,
    file_col: &str,
    file: &[Option<K>],
) -> Result<Vec<usize>> {
    let null_rows = |v: &[Option<K>]| -> Vec<usize> {
        v.iter()
            .enumerate()
            .filter(|(_, k)| k.is_none())
            .map(|(i, _)| i)
            .collect()
    };
    for (p, c, v) in [
        (holdout_path, holdout_col, holdout),
        (file_path, file_col, file),
    ] {
        let nulls = null_rows(v);
        if !nulls.is_empty() {
            return Err(Error::data(
                p,
                format!(
                    "id column `{c}` has {} missing values, e.g. {}; every row needs an id to join scores",
                    nulls.len(),
                    RowNames::Index.describe(&nulls)
                ),
            ));
        }
    }
    let index = |p: &Path, c: &str, v: &[Option<K>]| -> Result<HashMap<K, usize>> {
        let mut m = HashMap::with_capacity(v.len());
        let mut dups: Vec<K> = Vec::new();
        let mut dup_rows = 0usize;
        for (i, k) in v.iter().enumerate() {
            let k = k.expect("nulls rejected above");
            if m.insert(k, i).is_some() {
                dup_rows += 1;
                if dups.len() < EXAMPLES && !dups.contains(&k) {
                    dups.push(k);
                }
            }
        }
        if dup_rows > 0 {
            let list: Vec<String> = dups.iter().map(|k| k.to_string()).collect();
            return Err(Error::data(
                p,
                format!(
                    "id column `{c}` is not unique: {dup_rows} rows repeat an earlier id, e.g. {c} {}; scores must join one-to-one",
                    list.join(", ")
                ),
            ));
        }
        Ok(m)
    };
    let _ = index(holdout_path, holdout_col, holdout)?;
    let file_index = index(file_path, file_col, file)?;

    let mut order = Vec::with_capacity(holdout.len());
    let mut missing: Vec<K> = Vec::new();
    let mut missing_count = 0usize;
    for k in holdout.iter().flatten() {
        match file_index.get(k) {
            Some(i) => order.push(*i),
            None => {
                missing_count += 1;
                if missing.len() < EXAMPLES {
                    missing.push(*k);
                }
            }
        }
    }
    if missing_count > 0 {
        let list: Vec<String> = missing.iter().map(|k| k.to_string()).collect();
        return Err(Error::data(
            file_path,
            format!(
                "{missing_count} of {} holdout rows have no score (no `{file_col}` matches holdout `{holdout_col}`), e.g. {holdout_col} {}",
                holdout.len(),
                list.join(", ")
            ),
        ));
    }
    if file.len() > holdout.len() {
        let used: std::collections::HashSet<K> = holdout.iter().flatten().copied().collect();
        let extra: Vec<String> = file
            .iter()
            .flatten()
            .filter(|k| !used.contains(k))
            .take(EXAMPLES)
            .map(|k| k.to_string())
            .collect();
        return Err(Error::data(
            file_path,
            format!(
                "{} score rows match no holdout row, e.g. {file_col} {}; the score file must cover exactly the holdout",
                file.len() - holdout.len(),
                extra.join(", ")
            ),
        ));
    }
    Ok(order)
}

/// A feature column as `f64`, with nulls and NaN as NaN, plus the rows where
/// they are. Models decide what a missing value means; this only finds them.
pub fn feature_column(
    path: &Path,
    frame: &DataFrame,
    name: &str,
) -> Result<(Vec<f64>, Vec<usize>)> {
    let column = frame.column(name).map_err(|_| {
        Error::data(
            path,
            format!("no feature column `{name}`; the model needs it"),
        )
    })?;
    let s = column.as_materialized_series();
    if !(is_number(s.dtype()) || s.dtype() == &DataType::Boolean) {
        return Err(Error::data(
            path,
            format!(
                "feature `{name}` has type {}; the model expects a numeric column",
                s.dtype()
            ),
        ));
    }
    let ca = float64(path, s, "cannot read a feature column of")?;
    let mut missing = Vec::new();
    let values = ca
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(x) if x.is_finite() => x,
            _ => {
                missing.push(i);
                f64::NAN
            }
        })
        .collect();
    Ok((values, missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_days_count_from_the_epoch() {
        assert_eq!(iso_day("1970-01-01"), Some(0));
        assert_eq!(iso_day("2026-11-30T14:05:00Z"), Some(20_787));
        assert_eq!(iso_day("2024-02-29 23:59:59"), Some(19_782));
        assert_eq!(iso_day("1969-12-31"), Some(-1));
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "30/11/2026",
            "2026-11-3",
            "2026-11-30X",
            "",
        ] {
            assert_eq!(iso_day(bad), None, "{bad}");
        }
    }

    fn p() -> &'static Path {
        Path::new("h.parquet")
    }

    #[test]
    fn integer_labels_must_be_zero_or_one() {
        let s = Series::new("y".into(), &[0i64, 1, 2, 0]);
        let e = labels(p(), &s, None, &RowNames::Index)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not binary") && e.contains("rows 2 (0-based)"),
            "{e}"
        );
        let s = Series::new("y".into(), &[0i32, 1, 1]);
        assert_eq!(
            labels(p(), &s, None, &RowNames::Index).unwrap(),
            vec![false, true, true]
        );
    }

    /// The fast path reads each numeric type and each chunk as the cast
    /// through f64 did, and leaves a bad value (here in a later chunk) to
    /// that reading's error.
    #[test]
    fn numeric_labels_read_in_their_own_type_equal_the_cast() {
        let want = vec![true, false, false, true, true, false];
        let ints = [1i64, 0, 0, 1, 1, 0];
        let mut columns: Vec<Series> = [
            DataType::Int8,
            DataType::Int16,
            DataType::Int32,
            DataType::UInt8,
            DataType::UInt16,
            DataType::UInt32,
            DataType::UInt64,
            DataType::Float32,
            DataType::Float64,
        ]
        .iter()
        .map(|dt| Series::new("y".into(), &ints).cast(dt).unwrap())
        .collect();
        let mut chunked = Series::new("y".into(), &ints[..2]);
        chunked
            .append(&Series::new("y".into(), &ints[2..]))
            .unwrap();
        assert_eq!(chunked.n_chunks(), 2);
        columns.push(chunked.clone());
        for s in &columns {
            assert_eq!(binary_flags(s), Some(want.clone()), "{}", s.dtype());
            assert_eq!(labels(p(), s, None, &RowNames::Index).unwrap(), want);
        }
        chunked
            .append(&Series::new("y".into(), &[0i64, 3]))
            .unwrap();
        assert_eq!(binary_flags(&chunked), None);
        let e = labels(p(), &chunked, None, &RowNames::Index)
            .unwrap_err()
            .to_string();
        assert!(e.contains("rows 7 (0-based)"), "{e}");
        let nan = Series::new("y".into(), &[0.0, 1.0, f64::NAN]);
        assert_eq!(binary_flags(&nan), None);
        assert!(labels(p(), &nan, None, &RowNames::Index).is_err());
    }

    #[test]
    fn text_labels_need_a_positive_value() {
        let s = Series::new("y".into(), &["fraud", "ok", "ok"]);
        let e = labels(p(), &s, None, &RowNames::Index)
            .unwrap_err()
            .to_string();
        assert!(e.contains("holdout.positive"), "{e}");
        let pos = LabelValue::Text("fraud".into());
        assert_eq!(
            labels(p(), &s, Some(&pos), &RowNames::Index).unwrap(),
            vec![true, false, false]
        );
        let s3 = Series::new("y".into(), &["fraud", "ok", "maybe"]);
        assert!(labels(p(), &s3, Some(&pos), &RowNames::Index).is_err());
    }

    #[test]
    fn scores_report_nulls_and_nans_with_ids() {
        let ids = RowNames::Column(Series::new("tx".into(), &[10i64, 11, 12, 13]));
        let s = Series::new("s".into(), &[Some(0.1), None, Some(f64::NAN), Some(0.3)]);
        let e = scores(p(), &s, &ids).unwrap_err().to_string();
        assert!(
            e.contains("1 missing, e.g. tx 11") && e.contains("1 NaN or infinite, e.g. tx 12"),
            "{e}"
        );
    }

    #[test]
    fn scores_in_several_arrays_keep_their_rows() {
        // A Parquet column comes back as one array per row group: the
        // arrays copied whole and the one read value by value must give
        // the same rows, and name a bad row by its place in the column.
        let mut s = Series::new("s".into(), &[0.5f64, 0.25]);
        s.append(&Series::new("s".into(), &[Some(0.75f64), Some(1.0)]))
            .unwrap();
        s.append(&Series::new("s".into(), &[0.125f64])).unwrap();
        assert_eq!(s.n_chunks(), 3);
        let got = scores(p(), &s, &RowNames::Index).unwrap();
        assert_eq!(got, vec![0.5, 0.25, 0.75, 1.0, 0.125]);
        s.append(&Series::new(
            "s".into(),
            &[Some(0.5f64), None, Some(f64::INFINITY)],
        ))
        .unwrap();
        let e = scores(p(), &s, &RowNames::Index).unwrap_err().to_string();
        assert!(
            e.contains("1 missing, e.g. rows 6 (0-based)")
                && e.contains("1 NaN or infinite, e.g. rows 7 (0-based)")
                && e.contains("in 2 of 8 rows"),
            "{e}"
        );
    }

    #[test]
    fn align_checks_one_to_one() {
        let (hp, fp) = (Path::new("h"), Path::new("f"));
        let h = [Some(1), Some(2), Some(3)];
        assert_eq!(
            align(hp, "id", &h, fp, "id", &[Some(3), Some(1), Some(2)]).unwrap(),
            vec![1, 2, 0]
        );
        let e = align(hp, "id", &h, fp, "id", &[Some(3), Some(1)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1 of 3 holdout rows have no score") && e.contains("id 2"),
            "{e}"
        );
        let e = align(
            hp,
            "id",
            &h,
            fp,
            "id",
            &[Some(3), Some(1), Some(2), Some(2)],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not unique") && e.contains("id 2"), "{e}");
        let e = align(
            hp,
            "id",
            &h,
            fp,
            "id",
            &[Some(3), Some(1), Some(2), Some(9)],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("match no holdout row") && e.contains("id 9"),
            "{e}"
        );
    }
}
