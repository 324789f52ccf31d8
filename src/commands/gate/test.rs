//! `modelgate gate test`: table-driven fixtures for gate authors. Each case
//! gives a small dataset (inline or a file), the gate's `with:` config and the
//! expected verdict; the case runs through the same pipeline as `run`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::{
    Config, DEFAULT_GATE_MEMORY, DEFAULT_GATE_TIMEOUT, DataFormat, GateSource, GateSpec,
    HoldoutSpec, MetricsSpec, ModelRef, ReferenceSpec, ScoreSource, Severity, StatsSpec,
    parse_byte_size, parse_duration,
};
use crate::decision;
use crate::error::{Error, Result};
use crate::fs::write_atomic;
use crate::gates::{self, Verdict};

use super::super::{ExitStatus, out_err};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    with: Option<serde_norway::Value>,
    holdout: Data,
    reference: Option<Data>,
    #[serde(default = "default_label")]
    label: String,
    #[serde(default = "default_candidate")]
    candidate: String,
    production: Option<String>,
    timeout: Option<String>,
    memory: Option<String>,
    expect: Verdict,
    /// A substring the summary must contain.
    expect_summary: Option<String>,
}

fn default_label() -> String {
    "is_fraud".into()
}

fn default_candidate() -> String {
    "score_candidate".into()
}

/// A dataset: inline rows, inline columns, or a file relative to the cases file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    rows: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    columns: Option<BTreeMap<String, Vec<serde_json::Value>>>,
    path: Option<PathBuf>,
}

/// Materialises a dataset as a file and returns its path and format.
fn materialise(
    cases_file: &Path,
    dir: &Path,
    stem: &str,
    data: &Data,
) -> Result<(PathBuf, DataFormat)> {
    let bad = |m: &str| Error::Config {
        file: cases_file.to_path_buf(),
        line: None,
        column: None,
        message: format!("{stem}: {m}"),
    };
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        match (&data.rows, &data.columns, &data.path) {
            (Some(rows), None, None) => rows.clone(),
            (None, Some(cols), None) => {
                let n = cols.values().map(Vec::len).max().unwrap_or(0);
                if cols.values().any(|c| c.len() != n) {
                    return Err(bad("all `columns` must have the same length"));
                }
                (0..n)
                    .map(|i| {
                        cols.iter()
                            .map(|(k, v)| (k.clone(), v[i].clone()))
                            .collect()
                    })
                    .collect()
            }
            (None, None, Some(path)) => {
                let path = cases_file.parent().unwrap_or(Path::new(".")).join(path);
                let format = DataFormat::from_path(&path).ok_or_else(|| {
                    bad(&format!(
                        "cannot tell the format of {}; expected {}",
                        path.display(),
                        DataFormat::EXPECTED
                    ))
                })?;
                return Ok((path, format));
            }
            _ => return Err(bad("give exactly one of `rows`, `columns` or `path`")),
        };
    let path = dir.join(format!("{stem}.ndjson"));
    let mut text = String::new();
    for r in rows {
        text.push_str(&serde_json::Value::Object(r).to_string());
        text.push('\n');
    }
    write_atomic(&path, text.as_bytes())?;
    Ok((path, DataFormat::NdJson))
}

/// Runs every case; exit 0 when all verdicts match, 1 otherwise.
pub fn gate_test(uses: &str, cases_file: &Path, out: &mut dyn Write) -> Result<ExitStatus> {
    let text = std::fs::read_to_string(cases_file)
        .map_err(|e| Error::io("cannot read cases", cases_file, e))?;
    let file: CasesFile = serde_norway::from_str(&text).map_err(|e| Error::Config {
        file: cases_file.to_path_buf(),
        line: e.location().map(|l| l.line()),
        column: e.location().map(|l| l.column()),
        message: e.to_string(),
    })?;
    let tmp = tempfile::tempdir()
        .map_err(|e| Error::io("cannot create a temp dir in", std::env::temp_dir(), e))?;
    let source = GateSource::parse(Path::new("."), uses);
    let (mut passed, mut failed) = (0, 0);
    for (i, case) in file.cases.iter().enumerate() {
        let (hpath, hformat) = materialise(
            cases_file,
            tmp.path(),
            &format!("holdout-{i}"),
            &case.holdout,
        )?;
        let reference = case
            .reference
            .as_ref()
            .map(|r| materialise(cases_file, tmp.path(), &format!("reference-{i}"), r))
            .transpose()?
            .map(|(path, format)| ReferenceSpec { path, format });
        let limit_err = |what: &str, v: &str| Error::Config {
            file: cases_file.to_path_buf(),
            line: None,
            column: None,
            message: format!("case `{}`: `{v}` is not a valid {what}", case.name),
        };
        let timeout = match &case.timeout {
            Some(t) => parse_duration(t).ok_or_else(|| limit_err("duration", t))?,
            None => DEFAULT_GATE_TIMEOUT,
        };
        let memory = match &case.memory {
            Some(m) => parse_byte_size(m).ok_or_else(|| limit_err("memory size", m))?,
            None => DEFAULT_GATE_MEMORY,
        };
        let with = match &case.with {
            Some(v) => serde_json::to_value(v).unwrap_or_default(),
            None => serde_json::json!({}),
        };
        let config = Config {
            file: cases_file.to_path_buf(),
            model: "gate-test".into(),
            holdout: HoldoutSpec {
                path: hpath,
                format: hformat,
                summary: false,
                label: case.label.clone(),
                id: None,
                amount: None,
                weight: None,
                positive: None,
            },
            candidate: ModelRef::Scores(ScoreSource::Column(case.candidate.clone())),
            production: case
                .production
                .clone()
                .map(|c| ModelRef::Scores(ScoreSource::Column(c))),
            metrics: MetricsSpec::default(),
            stats: StatsSpec::default(),
            segments: Vec::new(),
            reference,
            registry: crate::config::RegistrySpec::local_default(tmp.path()),
            promote: Default::default(),
            lineage: Default::default(),
            gates: vec![GateSpec {
                uses: uses.to_string(),
                source: source.clone(),
                id: None,
                severity: Severity::Fail,
                timeout,
                memory,
                with,
            }],
        };
        let case_err = |e: Error| Error::GateCase {
            case: case.name.clone(),
            source: Box::new(e),
        };
        // Settings the gate's own schema refuses stop a real run with exit
        // 2; here they are the case's `error`, so a gate author can test
        // the schema with cases too.
        let prepared = gates::prepare(&config.gates).map_err(case_err)?;
        let (verdict, summary) = match gates::check_settings(&prepared) {
            Err(bad) => {
                let key: String = bad.violation.path.iter().map(ToString::to_string).collect();
                (
                    Verdict::Error,
                    format!("with{key}: {}", bad.violation.message),
                )
            }
            Ok(()) => {
                let decision = decision::run(&config).map_err(case_err)?;
                let g = &decision.gates[0];
                (g.verdict, g.summary.clone())
            }
        };
        let summary_ok = case
            .expect_summary
            .as_ref()
            .is_none_or(|s| summary.contains(s.as_str()));
        let ok = verdict == case.expect && summary_ok;
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
        let name_of = |v: Verdict| {
            serde_json::to_value(v)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        };
        writeln!(
            out,
            "{} {}: {} (expected {}{}) — {}",
            if ok { "ok  " } else { "FAIL" },
            case.name,
            name_of(verdict),
            name_of(case.expect),
            case.expect_summary
                .as_ref()
                .map(|s| format!(", summary containing {s:?}"))
                .unwrap_or_default(),
            summary
        )
        .map_err(out_err)?;
    }
    writeln!(out, "{passed} passed, {failed} failed").map_err(out_err)?;
    Ok(if failed == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Blocked
    })
}
