//! Renderings of an evaluation: a text table for terminals, markdown for
//! pull requests and step summaries, and the JSON document itself.

pub mod actions;
pub mod comment;
pub mod junit;
pub mod registry;
pub mod svg;

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::decision::{Decision, Outcome};
use crate::error::Result;
use crate::evaluation::{Evaluation, THRESHOLD_RULE};
use crate::gates::{GateResult, Observation, Verdict};
use crate::metrics::CurvePoint;

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
        Some(Value::Number(n)) => signed(n.as_f64().unwrap_or(f64::NAN)),
        _ => String::new(),
    }
}

/// A signed difference, in scientific notation below 1e-3 so small
/// deltas and their bounds keep their digits.
fn signed(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:+.3e}")
    } else {
        format!("{x:+.4}")
    }
}

/// A confidence level as a percentage: 95, 97.5.
fn percent(level: f64) -> String {
    let p = (level * 1000.0).round() / 10.0;
    format!("{p}%")
}

/// A value with its interval, `0.9120 [0.9010, 0.9220]`, when it has one.
fn with_interval(v: Option<&Value>, interval: Option<&Value>) -> String {
    let value = fmt_value(v);
    match interval.and_then(Value::as_array).map(|a| a.as_slice()) {
        Some([lo, hi]) => format!("{value} [{}, {}]", fmt_value(Some(lo)), fmt_value(Some(hi))),
        _ => value,
    }
}

/// Rows of (metric, candidate, production, delta) cells, in report order.
/// Values carry their bootstrap interval, deltas their paired test's
/// interval and p-value.
fn table_rows(eval: &Evaluation) -> Vec<[String; 4]> {
    let cand = &eval.models.candidate;
    let prod = eval.models.production.as_ref();
    cand.metrics
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "rows" | "positives"))
        .map(|(name, c)| {
            [
                name.clone(),
                with_interval(Some(c), cand.intervals.get(name)),
                prod.map(|p| with_interval(p.metrics.get(name), p.intervals.get(name)))
                    .unwrap_or_default(),
                match eval.delta_tests.get(name) {
                    Some(t) => format!(
                        "{} [{}, {}] p={:.2e}",
                        fmt_delta(eval.delta.get(name)),
                        signed(t.low),
                        signed(t.high),
                        t.p_value
                    ),
                    None => fmt_delta(eval.delta.get(name)),
                },
            ]
        })
        .collect()
}

/// Segments shown per column in the text and markdown reports; the JSON
/// has them all.
const SEGMENTS_SHOWN: usize = 25;

/// One `segments:` column as a table: a title, the header and the rows.
struct SegmentView {
    title: String,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    hidden: usize,
}

/// Each segment column's table: ROC AUC per model with the paired delta,
/// then recall and dollar recall at each model's operating threshold.
fn segment_views(eval: &Evaluation) -> Vec<SegmentView> {
    let has_prod = eval.models.production.is_some();
    let dollars = eval.models.candidate.metrics.contains_key("dollar_recall");
    eval.segments
        .iter()
        .map(|t| {
            let mut header = vec!["segment", "rows", "positives", "roc_auc"];
            if has_prod {
                header.extend(["production roc_auc", "delta roc_auc"]);
            }
            header.push("recall");
            if dollars {
                header.push("dollar_recall");
            }
            let both = |s: &crate::segments::Segment, name: &str| -> String {
                let c = fmt_value(s.candidate.get(name));
                match &s.production {
                    Some(p) => format!("{c} / {}", fmt_value(p.get(name))),
                    None => c,
                }
            };
            let rows = t
                .segments
                .iter()
                .take(SEGMENTS_SHOWN)
                .map(|s| {
                    let status = match s.status {
                        crate::segments::Status::Judged => "",
                        crate::segments::Status::TooSmall => " (too small)",
                        crate::segments::Status::OneClass => " (one class)",
                    };
                    let mut row = vec![
                        format!("{}{status}", s.value),
                        s.rows.to_string(),
                        s.positives.to_string(),
                        fmt_value(s.candidate.get("roc_auc")),
                    ];
                    if has_prod {
                        row.push(fmt_value(s.production.as_ref().and_then(|p| p.get("roc_auc"))));
                        row.push(match s.delta_tests.get("roc_auc") {
                            Some(t) => format!(
                                "{} [{}, {}] p={:.2e}",
                                signed(t.delta),
                                signed(t.low),
                                signed(t.high),
                                t.p_value
                            ),
                            None => fmt_delta(s.delta.get("roc_auc")),
                        });
                    }
                    row.push(both(s, "recall"));
                    if dollars {
                        row.push(both(s, "dollar_recall"));
                    }
                    row
                })
                .collect();
            SegmentView {
                title: format!(
                    "segments by `{}` (judged with at least {} positives; recall at each model's operating threshold{})",
                    t.column,
                    t.min_positives,
                    if has_prod { ", candidate / production" } else { "" }
                ),
                header,
                rows,
                hidden: t.segments.len().saturating_sub(SEGMENTS_SHOWN),
            }
        })
        .collect()
}

/// The weakest segments as one line each, worst first.
fn weak_lines(eval: &Evaluation) -> Vec<String> {
    eval.weak_segments
        .iter()
        .map(|w| {
            let test = w
                .test
                .as_ref()
                .map(|t| {
                    format!(
                        " [{}, {}] p={:.2e}",
                        signed(t.low),
                        signed(t.high),
                        t.p_value
                    )
                })
                .unwrap_or_default();
            format!(
                "{}={}: {} {:.4} against {:.4}, delta {}{test} ({} positives)",
                w.column,
                w.value,
                w.metric,
                w.candidate,
                w.production,
                signed(w.delta),
                w.positives
            )
        })
        .collect()
}

fn segments_text(eval: &Evaluation, out: &mut String) {
    for v in segment_views(eval) {
        let widths: Vec<usize> = (0..v.header.len())
            .map(|k| {
                v.rows
                    .iter()
                    .map(|r| r[k].chars().count())
                    .chain(std::iter::once(v.header[k].len()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| -> String {
            cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(k, (c, w))| {
                    if k == 0 {
                        format!("{c:<w$}")
                    } else {
                        format!("{c:>w$}")
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
        };
        let _ = writeln!(out, "\n{}", v.title);
        let header: Vec<String> = v.header.iter().map(|h| h.to_string()).collect();
        let _ = writeln!(out, "{}", line(&header));
        for r in &v.rows {
            let _ = writeln!(out, "{}", line(r).trim_end());
        }
        if v.hidden > 0 {
            let _ = writeln!(out, "… {} more segments in the JSON report", v.hidden);
        }
    }
    let weak = weak_lines(eval);
    if !weak.is_empty() {
        let _ = writeln!(
            out,
            "\nweakest segments (judged, candidate's ROC AUC below production's, worst first):"
        );
        for w in weak {
            let _ = writeln!(out, "  {w}");
        }
    }
}

fn segments_markdown(eval: &Evaluation, out: &mut String) {
    let weak = weak_lines(eval);
    if !weak.is_empty() {
        let _ = writeln!(
            out,
            "\n**Weakest segments** (judged, the candidate's ROC AUC below production's, worst first):\n"
        );
        for w in weak {
            let _ = writeln!(out, "- {}", md_escape(&w));
        }
    }
    for v in segment_views(eval) {
        let _ = writeln!(
            out,
            "\n<details><summary>{}</summary>\n",
            md_escape(&v.title)
        );
        let _ = writeln!(out, "| {} |", v.header.join(" | "));
        let align: Vec<&str> = (0..v.header.len())
            .map(|k| if k == 0 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "|{}|", align.join("|"));
        for r in &v.rows {
            let cells: Vec<String> = r.iter().map(|c| md_escape(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        if v.hidden > 0 {
            let _ = writeln!(out, "\n{} more segments in the JSON report.", v.hidden);
        }
        let _ = writeln!(out, "\n</details>");
    }
}

/// What the intervals are, stated once under each table.
fn intervals_note(eval: &Evaluation) -> Option<String> {
    let s = &eval.stats;
    let has_tests = !eval.delta_tests.is_empty();
    if s.bootstrap == 0 && !has_tests {
        return None;
    }
    let mut parts = Vec::new();
    if let Some(w) = &eval.holdout.weight {
        parts.push(format!(
            "rows weighted by `{w}` (holdout.weight); DeLong's test takes no weights, so ROC AUC's is the paired bootstrap"
        ));
    }
    if s.bootstrap > 0 {
        parts.push(format!(
            "values: {} percentile intervals of a label-stratified bootstrap ({} resamples, seed {}), \
             normal ones for the mean losses",
            percent(s.confidence),
            s.bootstrap,
            s.seed
        ));
    }
    if has_tests {
        let boot = crate::stats::bootstrap::METHOD;
        let mut by_method: Vec<(&str, Vec<&str>)> = Vec::new();
        for (metric, t) in &eval.delta_tests {
            match by_method.iter_mut().find(|(m, _)| *m == t.method) {
                Some((_, v)) => v.push(metric),
                None => by_method.push((t.method, vec![metric])),
            }
        }
        // The bootstrap covers most metrics: name it last, as "the others".
        by_method.sort_by_key(|(m, _)| *m == boot);
        let methods: Vec<String> = by_method
            .iter()
            .map(|(m, metrics)| {
                if *m == boot && by_method.len() > 1 {
                    format!("{m} for the others")
                } else {
                    format!("{m} for {}", metrics.join(", "))
                }
            })
            .collect();
        parts.push(format!(
            "deltas: {} intervals and two-sided p-values of paired tests ({})",
            percent(s.confidence),
            methods.join("; ")
        ));
    }
    Some(parts.join("; "))
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
    let width = |k: usize, title: &str| {
        rows.iter()
            .map(|r| r[k].len())
            .max()
            .unwrap_or(0)
            .max(title.len())
    };
    let w0 = width(0, "metric").max(6);
    let (w1, w2, w3) = (
        width(1, "candidate"),
        width(2, "production"),
        width(3, "delta"),
    );
    if has_prod {
        let _ = writeln!(
            out,
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
            "metric", "candidate", "production", "delta"
        );
    } else {
        let _ = writeln!(out, "{:<w0$}  {:>w1$}", "metric", "candidate");
    }
    for r in &rows {
        if has_prod {
            let _ = writeln!(
                out,
                "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
                r[0], r[1], r[2], r[3]
            );
        } else {
            let _ = writeln!(out, "{:<w0$}  {:>w1$}", r[0], r[1]);
        }
    }
    if let Some(note) = intervals_note(eval) {
        let _ = writeln!(out, "{note}");
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
    segments_text(eval, &mut out);
    out
}

/// Grid points of the mermaid PR chart.
const CHART_POINTS: usize = 21;

/// The mermaid ROC chart's false-positive rates: a log scale from 1 in
/// 10,000, since fraud operates at FPR <= 1%, where a linear axis shows
/// nothing.
const ROC_GRID: [f64; 13] = [
    1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0,
];

/// The curve's y at each grid x, by linear interpolation between its
/// points (which run from x = 0 to x = 1; the PR curve's x is recall).
fn on_grid(points: &[CurvePoint], grid: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<&CurvePoint> = points.iter().collect();
    sorted.sort_by(|a, b| a.x.total_cmp(&b.x).then(b.y.total_cmp(&a.y)));
    grid.iter()
        .map(|&x| {
            let k = sorted.partition_point(|p| p.x < x);
            match (k.checked_sub(1).map(|j| sorted[j]), sorted.get(k)) {
                (Some(a), Some(b)) if b.x > a.x => a.y + (x - a.x) / (b.x - a.x) * (b.y - a.y),
                (_, Some(b)) => b.y,
                (Some(a), None) => a.y,
                (None, None) => 0.0,
            }
        })
        .collect()
}

/// A mermaid `xychart-beta` with one line per model over `grid` (GitHub
/// renders it), then each model's operating point in words: mermaid has
/// no markers.
fn chart(
    title: &str,
    x: &str,
    y: &str,
    grid: &[f64],
    series: &[(&str, &[CurvePoint])],
    marks: &[Mark],
) -> String {
    let ticks: Vec<String> = grid.iter().map(|g| format!("{g}")).collect();
    let mut out = format!(
        "```mermaid\nxychart-beta\n    title \"{title}\"\n    x-axis \"{x}\" [{}]\n    y-axis \"{y}\" 0 --> 1\n",
        ticks.join(", ")
    );
    for (_, points) in series {
        let ys: Vec<String> = on_grid(points, grid)
            .iter()
            .map(|v| format!("{v:.4}"))
            .collect();
        let _ = writeln!(out, "    line [{}]", ys.join(", "));
    }
    out.push_str("```\n");
    let names: Vec<&str> = series.iter().map(|s| s.0).collect();
    let _ = writeln!(out, "\nLines, in order: {}.", names.join(", "));
    for (budget, what) in [(false, "Operating threshold"), (true, "Alert budget")] {
        let group: Vec<&Mark> = marks.iter().filter(|m| m.budget == budget).collect();
        let Some(first) = group.first() else { continue };
        let points: Vec<String> = group
            .iter()
            .map(|m| format!("{} {x} {:.4}, {y} {:.4}", m.model, m.x, m.y))
            .collect();
        let label = if budget {
            first.label.trim_start_matches("alert budget: ")
        } else {
            &first.label
        };
        let _ = writeln!(out, "{what} ({label}): {}.", points.join("; "));
    }
    out
}

/// Each model's ROC and PR curves, named, for the charts.
pub(crate) type Series<'a> = Vec<(&'static str, &'a [CurvePoint])>;

/// A model's operating point on a chart: where its threshold puts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub model: &'static str,
    pub x: f64,
    pub y: f64,
    /// How the threshold was set, e.g. `score >= 0.5`.
    pub label: String,
    /// Where the alert budget puts the model, rather than its threshold.
    pub budget: bool,
}

/// Each model's ROC, PR and (with amounts) dollar-recall curves; the last
/// is empty when the holdout has no amounts.
pub(crate) fn curve_series(eval: &Evaluation) -> (Series<'_>, Series<'_>, Series<'_>) {
    let mut models: Vec<(&'static str, &crate::metrics::Curves)> =
        vec![("candidate", &eval.models.candidate.curves)];
    if let Some(p) = &eval.models.production {
        models.push(("production", &p.curves));
    }
    let dollars = models
        .iter()
        .filter(|(_, c)| !c.dollar_recall.is_empty())
        .map(|(n, c)| (*n, c.dollar_recall.as_slice()))
        .collect();
    (
        models.iter().map(|(n, c)| (*n, c.roc.as_slice())).collect(),
        models.iter().map(|(n, c)| (*n, c.pr.as_slice())).collect(),
        dollars,
    )
}

/// Each model's operating point on the ROC chart (FPR, recall) and on the
/// PR chart (recall, precision), from its confusion matrix.
pub(crate) fn operating_points(eval: &Evaluation) -> (Vec<Mark>, Vec<Mark>) {
    let mut models = vec![("candidate", &eval.models.candidate.raw)];
    if let Some(p) = &eval.models.production {
        models.push(("production", &p.raw));
    }
    let rate = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let mut roc = Vec::new();
    let mut pr = Vec::new();
    for (model, m) in models {
        let label = format!("score >= {}", compact(m.threshold));
        let recall = rate(m.tp, m.tp + m.fn_);
        roc.push(Mark {
            model,
            x: rate(m.fp, m.fp + m.tn),
            y: recall,
            label: label.clone(),
            budget: false,
        });
        pr.push(Mark {
            model,
            x: recall,
            y: rate(m.tp, m.tp + m.fp),
            label,
            budget: false,
        });
        // The alerts the budget lets the model raise, pooled over the days.
        let at = |name: &str| m.budget.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        if let (Some(alerts), Some(recall)) = (at("alerts_at_budget"), at("recall_at_budget")) {
            // Weights with `holdout.weight`, as the confusion counts are.
            let caught = recall * (m.tp + m.fn_);
            let negatives = m.fp + m.tn;
            let label = format!("alert budget: {alerts} alerts");
            roc.push(Mark {
                model,
                x: if negatives > 0.0 {
                    (alerts - caught) / negatives
                } else {
                    0.0
                },
                y: recall,
                label: label.clone(),
                budget: true,
            });
            pr.push(Mark {
                model,
                x: recall,
                y: if alerts > 0.0 { caught / alerts } else { 0.0 },
                label,
                budget: true,
            });
        }
    }
    (roc, pr)
}

/// A threshold in few digits: 0.5, 0.0362.
fn compact(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// ROC and PR charts of every model.
fn charts(eval: &Evaluation) -> String {
    let (roc, pr, dollars) = curve_series(eval);
    let (roc_marks, pr_marks) = operating_points(eval);
    let recall_grid: Vec<f64> = (0..CHART_POINTS)
        .map(|i| i as f64 / (CHART_POINTS - 1) as f64)
        .collect();
    format!(
        "\n{}\n{}{}",
        chart(
            "ROC curve (log false-positive rate)",
            "false-positive rate",
            "recall",
            &ROC_GRID,
            &roc,
            &roc_marks
        ),
        chart(
            "Precision-recall curve",
            "recall",
            "precision",
            &recall_grid,
            &pr,
            &pr_marks
        ),
        if dollars.is_empty() {
            String::new()
        } else {
            format!(
                "\n{}",
                chart(
                    "Fraud amount caught against alerts (log share of rows flagged)",
                    "share of rows flagged",
                    "dollar recall",
                    &ROC_GRID,
                    &dollars,
                    &[]
                )
            )
        }
    )
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
    if let Some(note) = intervals_note(eval) {
        let _ = writeln!(out, "\n<sub>{note}</sub>");
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
    segments_markdown(eval, &mut out);
    out.push_str(&charts(eval));
    out
}

/// Renders a decision in the given format.
pub fn render_decision(d: &Decision, format: Format) -> Result<String> {
    Ok(match format {
        Format::Text => decision_text(d),
        Format::Json => d.to_json()? + "\n",
        Format::Markdown => decision_markdown(d),
    })
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Warn => "warn",
        Verdict::Fail => "fail",
        Verdict::Error => "error",
    }
}

/// The gate's stated reason, for beside its verdict.
fn reason_words(g: &crate::gates::GateResult) -> &'static str {
    match g.reason {
        Some(crate::gates::VerdictReason::InsufficientEvidence) => " (insufficient evidence)",
        None => "",
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) => format!("{x:.3e}"),
        Some(x) => format!("{x:.4}"),
    }
}

fn observation_line(o: &Observation) -> String {
    let mark = if o.passed { "ok  " } else { "FAIL" };
    let cmp = match (o.comparison.symbol(), o.threshold) {
        ("", _) | (_, None) => String::new(),
        (sym, Some(t)) => format!(" {sym} {}", fmt_opt(Some(t))),
    };
    let detail = o
        .detail
        .as_deref()
        .map(|d| format!("  ({d})"))
        .unwrap_or_default();
    format!("{mark} {} = {}{cmp}{detail}", o.name, fmt_opt(o.observed))
}

/// Observations worth showing: failures first, then the rest, capped.
fn shown_observations(g: &GateResult, max: usize) -> (Vec<&Observation>, usize) {
    let mut v: Vec<&Observation> = g.observations.iter().filter(|o| !o.passed).collect();
    v.extend(g.observations.iter().filter(|o| o.passed));
    let hidden = v.len().saturating_sub(max);
    v.truncate(max);
    (v, hidden)
}

fn banner(d: &Decision) -> String {
    match d.decision {
        Outcome::Pass => format!("PASS: `{}` may be promoted ({})", d.model, d.summary),
        Outcome::Fail => format!(
            "FAIL: `{}` is blocked by {} ({})",
            d.model,
            d.blocking.join(", "),
            d.summary
        ),
    }
}

/// A short decision for stories and logs: the banner, one line per gate
/// (with what failed) and the headline metrics.
pub fn decision_brief(d: &Decision) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", banner(d));
    let w = d.gates.iter().map(|g| g.id.len()).max().unwrap_or(4).max(4);
    for g in &d.gates {
        let _ = writeln!(
            out,
            "  {:<w$}  {:<5}  {}{}",
            g.id,
            verdict_word(g.verdict),
            g.summary,
            reason_words(g)
        );
        if g.verdict != Verdict::Pass {
            for o in shown_observations(g, 3).0 {
                let _ = writeln!(out, "  {:<w$}         {}", "", observation_line(o));
            }
        }
    }
    let e = &d.evaluation;
    // The money and the alert budget when the holdout has them: what a
    // fraud team reads first.
    let shown = [
        "roc_auc",
        "average_precision",
        "recall_at_fpr[0.01]",
        "dollar_recall",
        "precision_at_budget",
        "dollar_recall_at_budget",
    ];
    let w = shown
        .iter()
        .filter(|n| e.models.candidate.metrics.contains_key(**n))
        .map(|n| n.len())
        .max()
        .unwrap_or(0)
        .max(w);
    for name in shown {
        if !e.models.candidate.metrics.contains_key(name) {
            continue;
        }
        let c = fmt_value(e.models.candidate.metrics.get(name));
        let line = match &e.models.production {
            Some(p) => format!(
                "candidate {c} vs production {} ({}{})",
                fmt_value(p.metrics.get(name)),
                fmt_delta(e.delta.get(name)),
                e.delta_tests
                    .get(name)
                    .map(|t| format!(
                        ", {} CI {:+.4} to {:+.4}, p={:.1e}",
                        percent(t.level),
                        t.low,
                        t.high,
                        t.p_value
                    ))
                    .unwrap_or_default()
            ),
            None => format!("candidate {c}"),
        };
        let _ = writeln!(out, "  {name:<w$}  {line}");
    }
    if let Some(weakest) = weak_lines(e).first() {
        let _ = writeln!(out, "  {:<w$}  {weakest}", "weakest segment");
    }
    out
}

fn decision_text(d: &Decision) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "modelgate run: {}\n", banner(d));
    let w = d.gates.iter().map(|g| g.id.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "{:<w$}  {:<7}  {:>8}  summary",
        "gate", "verdict", "time"
    );
    for g in &d.gates {
        let blocking = if g.blocking { " (blocks)" } else { "" };
        let _ = writeln!(
            out,
            "{:<w$}  {:<7}  {:>6.0}ms  {}{blocking}{}",
            g.id,
            verdict_word(g.verdict),
            g.duration_ms,
            g.summary,
            reason_words(g)
        );
        // Passing gates show a glimpse; the others show what went wrong.
        let max = if g.verdict == Verdict::Pass { 3 } else { 8 };
        let (shown, hidden) = shown_observations(g, max);
        for o in shown {
            let _ = writeln!(out, "{:<w$}    {}", "", observation_line(o));
        }
        if hidden > 0 {
            let _ = writeln!(
                out,
                "{:<w$}    … {hidden} more observations in the JSON report",
                ""
            );
        }
    }
    let _ = writeln!(out);
    out.push_str(&text(&d.evaluation));
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn decision_markdown(d: &Decision) -> String {
    let mut out = String::new();
    let icon = if d.decision == Outcome::Pass {
        "✅"
    } else {
        "❌"
    };
    let _ = writeln!(out, "## {icon} modelgate: {}\n", md_escape(&banner(d)));
    let _ = writeln!(
        out,
        "| gate | verdict | summary | time |\n|---|---|---|---:|"
    );
    for g in &d.gates {
        let v = match g.verdict {
            Verdict::Pass => "✅ pass",
            Verdict::Warn => "⚠️ warn",
            Verdict::Fail => "❌ fail",
            Verdict::Error => "💥 error",
        };
        let _ = writeln!(
            out,
            "| `{}` | {v}{} | {} | {:.0} ms |",
            g.id,
            reason_words(g),
            md_escape(&g.summary),
            g.duration_ms
        );
    }
    for g in d.gates.iter().filter(|g| !g.observations.is_empty()) {
        let (shown, hidden) = shown_observations(g, 20);
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code>: {} observations</summary>\n\n| observation | value | limit | ok | detail |\n|---|---:|---|---|---|",
            g.id,
            g.observations.len()
        );
        for o in shown {
            let limit = match (o.comparison.symbol(), o.threshold) {
                ("", _) | (_, None) => String::new(),
                (sym, Some(t)) => format!("{sym} {}", fmt_opt(Some(t))),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                md_escape(&o.name),
                fmt_opt(o.observed),
                md_escape(&limit),
                if o.passed { "✅" } else { "❌" },
                md_escape(o.detail.as_deref().unwrap_or(""))
            );
        }
        if hidden > 0 {
            let _ = writeln!(out, "\n{hidden} more in the JSON report.");
        }
        let _ = writeln!(out, "\n</details>");
    }
    let _ = writeln!(out);
    out.push_str(&markdown(&d.evaluation));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f64, y: f64) -> CurvePoint {
        CurvePoint {
            x,
            y,
            threshold: 0.5,
        }
    }

    #[test]
    fn grid_interpolates_and_keeps_ends() {
        let grid: Vec<f64> = (0..CHART_POINTS)
            .map(|i| i as f64 / (CHART_POINTS - 1) as f64)
            .collect();
        let g = on_grid(&[p(0.0, 0.0), p(0.5, 1.0), p(1.0, 1.0)], &grid);
        assert_eq!(g.len(), CHART_POINTS);
        assert_eq!(g[0], 0.0);
        assert!((g[5] - 0.5).abs() < 1e-12, "{g:?}");
        assert_eq!(g[CHART_POINTS - 1], 1.0);
    }

    #[test]
    fn chart_is_a_mermaid_xychart_with_one_line_per_model_and_the_operating_points() {
        let pts = [p(0.0, 0.0), p(0.001, 0.5), p(1.0, 1.0)];
        let mark = |model, x, y| Mark {
            model,
            x,
            y,
            label: "score >= 0.5".into(),
            budget: false,
        };
        let c = chart(
            "ROC",
            "false-positive rate",
            "recall",
            &ROC_GRID,
            &[("candidate", &pts), ("production", &pts)],
            &[
                mark("candidate", 0.001, 0.5),
                mark("production", 0.002, 0.4),
                Mark {
                    label: "alert budget: 1400 alerts".into(),
                    budget: true,
                    ..mark("candidate", 0.003, 0.6)
                },
            ],
        );
        assert!(
            c.contains(
                "Alert budget (1400 alerts): candidate false-positive rate 0.0030, recall 0.6000."
            ),
            "{c}"
        );
        assert!(c.starts_with("```mermaid\nxychart-beta\n"));
        assert_eq!(c.matches("    line [").count(), 2);
        assert!(c.contains("[0.0001, 0.0002, 0.0005, 0.001,"), "{c}");
        // On the log grid the low-FPR corner has detail: y at 0.0005 is
        // interpolated, not the 0 a linear grid's first step would show.
        assert!(c.contains("line [0.0500, 0.1000, 0.2500, 0.5000,"), "{c}");
        assert!(c.contains(
            "Operating threshold (score >= 0.5): candidate false-positive rate 0.0010, recall 0.5000; production false-positive rate 0.0020, recall 0.4000."
        ), "{c}");
    }

    #[test]
    fn thresholds_print_compactly() {
        assert_eq!(compact(0.5), "0.5");
        assert_eq!(compact(0.036_21), "0.0362");
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(1.0), "1");
    }
}
