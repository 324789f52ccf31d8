//! Renderings of an evaluation: a text table for terminals, markdown for
//! pull requests and step summaries, and the JSON document itself.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::error::Result;
use crate::evaluation::{Evaluation, THRESHOLD_RULE};

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

impl Format {
    /// The format a file name asks for: `.json`, `.md`/`.markdown`, else text.
    pub fn from_path(path: &Path) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Format::Json,
            Some("md" | "markdown") => Format::Markdown,
            _ => Format::Text,
        }
    }
}

/// Renders an evaluation in the given format.
pub fn render(eval: &Evaluation, format: Format) -> Result<String> {
    Ok(match format {
        Format::Text => text(eval),
        Format::Json => eval.to_json()? + "\n",
        Format::Markdown => markdown(eval),
    })
}

fn fmt_value(v: Option<&Value>) -> String {
    match v {
        None => String::new(),
        Some(Value::Null) => "n/a".into(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x != 0.0 && x.abs() < 1e-3 {
                format!("{x:.3e}")
            } else {
                format!("{x:.4}")
            }
        }
        Some(other) => other.to_string(),
    }
}

fn fmt_delta(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
            let x = n.as_i64().unwrap_or(0);
            format!("{x:+}")
        }
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x != 0.0 && x.abs() < 1e-3 {
                format!("{x:+.3e}")
            } else {
                format!("{x:+.4}")
            }
        }
        _ => String::new(),
    }
}

/// Rows of (metric, candidate, production, delta) cells, in report order.
fn table_rows(eval: &Evaluation) -> Vec<[String; 4]> {
    let cand = &eval.models.candidate.metrics;
    let prod = eval.models.production.as_ref().map(|p| &p.metrics);
    cand.iter()
        .filter(|(name, _)| !matches!(name.as_str(), "rows" | "positives"))
        .map(|(name, c)| {
            [
                name.clone(),
                fmt_value(Some(c)),
                fmt_value(prod.and_then(|p| p.get(name))),
                fmt_delta(eval.delta.get(name)),
            ]
        })
        .collect()
}

fn header(eval: &Evaluation) -> String {
    let rate = 100.0 * eval.positives as f64 / eval.rows as f64;
    format!(
        "holdout {}: {} rows, {} positives ({rate:.3}%)",
        eval.holdout.path, eval.rows, eval.positives
    )
}

fn text(eval: &Evaluation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "modelgate evaluation of `{}`", eval.model);
    let _ = writeln!(out, "{}", header(eval));
    let _ = writeln!(out, "rule: {THRESHOLD_RULE}\n");
    let has_prod = eval.models.production.is_some();
    let rows = table_rows(eval);
    let w0 = rows.iter().map(|r| r[0].len()).max().unwrap_or(6).max(6);
    if has_prod {
        let _ = writeln!(
            out,
            "{:<w0$}  {:>12}  {:>12}  {:>12}",
            "metric", "candidate", "production", "delta"
        );
    } else {
        let _ = writeln!(out, "{:<w0$}  {:>12}", "metric", "candidate");
    }
    for r in &rows {
        if has_prod {
            let _ = writeln!(
                out,
                "{:<w0$}  {:>12}  {:>12}  {:>12}",
                r[0], r[1], r[2], r[3]
            );
        } else {
            let _ = writeln!(out, "{:<w0$}  {:>12}", r[0], r[1]);
        }
    }
    for (role, m) in std::iter::once(("candidate", &eval.models.candidate))
        .chain(eval.models.production.as_ref().map(|p| ("production", p)))
    {
        for na in &m.not_applicable {
            let _ = writeln!(
                out,
                "note: {role} {} not applicable: {}",
                na.metric, na.reason
            );
        }
    }
    out
}

fn markdown(eval: &Evaluation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### modelgate evaluation: `{}`\n", eval.model);
    let _ = writeln!(out, "{}. Rule: {THRESHOLD_RULE}.\n", header(eval));
    let has_prod = eval.models.production.is_some();
    if has_prod {
        let _ = writeln!(
            out,
            "| metric | candidate | production | delta |\n|---|---:|---:|---:|"
        );
    } else {
        let _ = writeln!(out, "| metric | candidate |\n|---|---:|");
    }
    for r in table_rows(eval) {
        if has_prod {
            let _ = writeln!(out, "| `{}` | {} | {} | {} |", r[0], r[1], r[2], r[3]);
        } else {
            let _ = writeln!(out, "| `{}` | {} |", r[0], r[1]);
        }
    }
    for (role, m) in std::iter::once(("candidate", &eval.models.candidate))
        .chain(eval.models.production.as_ref().map(|p| ("production", p)))
    {
        for na in &m.not_applicable {
            let _ = writeln!(
                out,
                "\n> {role} `{}` not applicable: {}",
                na.metric, na.reason
            );
        }
    }
    out
}
