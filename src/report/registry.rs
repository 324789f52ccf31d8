//! Renderings of registry state: `show`, `lineage`, `history`, and the
//! outcome of `promote` and `register`.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::lineage::Lineage;
use crate::promote::{self, Status};
use crate::registry::{Promotion, VersionRecord};

use super::Format;

fn json_doc(schema: &str, body: serde_json::Value) -> Result<String> {
    let mut doc = json!({ "schema": schema });
    if let (Some(d), serde_json::Value::Object(b)) = (doc.as_object_mut(), body) {
        d.extend(b);
    }
    serde_json::to_string_pretty(&doc)
        .map(|s| s + "\n")
        .map_err(|source| Error::Json {
            what: "the registry report",
            source,
        })
}

fn value<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// `modelgate show`: every version, marking production.
pub fn show(
    model: &str,
    location: &str,
    versions: &[VersionRecord],
    production: Option<&Promotion>,
    format: Format,
) -> Result<String> {
    if format == Format::Json {
        return json_doc(
            "modelgate.show/v1",
            json!({
                "model": model,
                "registry": location,
                "production": production.map(|p| p.version.clone()),
                "versions": value(&versions),
            }),
        );
    }
    let mut s = String::new();
    let _ = writeln!(s, "{model} in {location}");
    if versions.is_empty() {
        let _ = writeln!(s, "  no versions yet");
        return Ok(s);
    }
    let md = format == Format::Markdown;
    if md {
        s = format!(
            "### {model} in `{location}`\n\n| version | production | decision | created | artifact sha256 | commit |\n|---|---|---|---|---|---|\n"
        );
    }
    for v in versions {
        let prod = production.is_some_and(|p| p.version == v.version);
        let sha = v.artifacts.first().map_or("", |a| short(&a.sha256));
        let commit = v.commit.as_deref().map_or("-", short);
        if md {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | `{sha}` | `{commit}` |",
                v.version,
                if prod { "**production**" } else { "" },
                v.decision.as_deref().unwrap_or("-"),
                v.created_at
            );
        } else {
            let _ = writeln!(
                s,
                "  {:<10} {:<12} decision {:<5} {}  sha256 {sha}  commit {commit}",
                v.version,
                if prod { "[production]" } else { "" },
                v.decision.as_deref().unwrap_or("-"),
                v.created_at
            );
        }
    }
    Ok(s)
}

/// `modelgate history`: the promotions, newest first.
pub fn history(model: &str, promotions: &[Promotion], format: Format) -> Result<String> {
    if format == Format::Json {
        return json_doc(
            "modelgate.history/v1",
            json!({ "model": model, "promotions": value(&promotions) }),
        );
    }
    let mut s = format!("{model}: {} promotions to production\n", promotions.len());
    for p in promotions.iter().rev() {
        let _ = writeln!(
            s,
            "  #{:<3} {} → {:<8} by {} at {}  ({})\n        {}",
            p.number,
            p.previous.as_deref().unwrap_or("(none)"),
            p.version,
            p.by,
            p.at,
            p.tag,
            p.decision
        );
    }
    Ok(s)
}

/// `modelgate lineage`: where a version came from, missing values first.
pub fn lineage(l: &Lineage, format: Format) -> Result<String> {
    if format == Format::Json {
        return serde_json::to_string_pretty(l)
            .map(|s| s + "\n")
            .map_err(|source| Error::Json {
                what: "the lineage",
                source,
            });
    }
    let mut s = format!("{} {} lineage\n", l.model, l.version);
    let _ = writeln!(s, "  created     {} by {}", l.created_at, l.creator);
    let _ = writeln!(
        s,
        "  parent      {}",
        l.parent.as_deref().unwrap_or("(none)")
    );
    match &l.code {
        Some(c) => {
            let _ = writeln!(
                s,
                "  code        {} commit {}{}",
                c.repository.as_deref().unwrap_or("(no remote)"),
                c.commit,
                if c.dirty {
                    " (dirty: uncommitted changes)"
                } else {
                    ""
                }
            );
        }
        None => {
            let _ = writeln!(s, "  code        (not a git checkout)");
        }
    }
    let _ = writeln!(s, "  params      {}", l.params);
    for a in &l.artifacts {
        let _ = writeln!(
            s,
            "  artifact    {} sha256 {} ({} bytes{})",
            a.name,
            a.sha256,
            a.size,
            a.format
                .as_deref()
                .map(|f| format!(", {f}"))
                .unwrap_or_default()
        );
    }
    match &l.training_data {
        None => {
            let _ = writeln!(s, "  training    (not recorded)");
        }
        Some(t) => {
            let _ = writeln!(
                s,
                "  training    {} ({} rows, {} columns) sha256 {}",
                t.path,
                t.rows,
                t.columns.len(),
                t.sha256
            );
            let missing = t.missing();
            if missing.is_empty() {
                let _ = writeln!(s, "  missing     none");
            } else {
                let _ = writeln!(
                    s,
                    "  missing     {} columns have missing values:",
                    missing.len()
                );
                for (name, n, r) in missing {
                    let _ = writeln!(s, "    {name:<20} {n:>9} rows  {:6.2}%", r * 100.0);
                }
            }
        }
    }
    Ok(s)
}

/// The registry section of the markdown report: what was published and
/// moved, with links, the lineage in brief and the deploy triggers.
pub fn outcome_markdown(r: &promote::Report) -> String {
    let mut s = String::from("\n### Registry\n\n");
    let version = r.version.as_ref();
    let v = version.map_or("-", |v| v.version.as_str());
    let link = version
        .and_then(|v| v.url.as_deref())
        .map(|u| format!(" · [release]({u})"))
        .unwrap_or_default();
    let dry = if r.dry_run { " (dry run)" } else { "" };
    let headline = match r.status {
        Status::Promoted => format!(
            "**Promoted** `{}` {v} to production{dry} (was {}){link}",
            r.model,
            r.previous_production.as_deref().unwrap_or("none")
        ),
        Status::AlreadyProduction => format!("`{}` {v} is already production{link}", r.model),
        Status::Registered => format!("**Registered** `{}` {v}, not promoted{dry}{link}", r.model),
        Status::Blocked => format!(
            "**Not promoted**: production stays at {}",
            r.previous_production.as_deref().unwrap_or("none")
        ),
    };
    let _ = writeln!(
        s,
        "{headline}\n\n| | |\n|---|---|\n| registry | `{}` |",
        r.registry
    );
    if let Some(v) = version {
        for a in &v.artifacts {
            let _ = writeln!(
                s,
                "| artifact | `{}` sha256 `{}` |",
                a.name,
                short(&a.sha256)
            );
        }
    }
    if let Some(l) = &r.lineage {
        if let Some(t) = &l.training_data {
            let missing = t.missing();
            let m = if missing.is_empty() {
                "no missing values".to_string()
            } else {
                missing
                    .iter()
                    .take(5)
                    .map(|(n, _, ratio)| format!("{n} {:.1}%", ratio * 100.0))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                s,
                "| training data | `{}` ({} rows, sha256 `{}`); missing: {m} |",
                t.path,
                t.rows,
                short(&t.sha256)
            );
        }
        if let Some(c) = &l.code {
            let _ = writeln!(
                s,
                "| code | {} `{}`{} |",
                c.repository.as_deref().unwrap_or(""),
                short(&c.commit),
                if c.dirty { " (dirty)" } else { "" }
            );
        }
        let _ = writeln!(s, "| parameters | `{}` |", l.params);
    }
    for d in &r.deliveries {
        let _ = writeln!(
            s,
            "| deploy trigger | {} → HTTP {} (delivery `{}`) |",
            d.target, d.status, d.delivery_id
        );
    }
    for t in &r.pending_triggers {
        let _ = writeln!(
            s,
            "| deploy trigger | {} (not sent) |",
            t["target"].as_str().unwrap_or("?")
        );
    }
    s
}

/// The outcome of `promote` or `register`.
pub fn outcome(r: &promote::Report, format: Format) -> Result<String> {
    if format == Format::Json {
        return r.to_json().map(|s| s + "\n");
    }
    if format == Format::Markdown {
        return Ok(outcome_markdown(r));
    }
    let mut s = String::new();
    let prefix = if r.dry_run { "[dry run] " } else { "" };
    let version = r.version.as_ref().map_or("-", |v| v.version.as_str());
    let headline = match r.status {
        Status::Promoted => format!(
            "PROMOTED {} {version} to production (was {})",
            r.model,
            r.previous_production.as_deref().unwrap_or("none")
        ),
        Status::AlreadyProduction => format!("{} {version} is already production", r.model),
        Status::Registered => format!("REGISTERED {} {version} (not promoted)", r.model),
        Status::Blocked => format!(
            "NOT PROMOTED: {} stays at {}",
            r.model,
            r.previous_production.as_deref().unwrap_or("no production")
        ),
    };
    let _ = writeln!(s, "{prefix}{headline}   [{}]", r.registry);
    for n in &r.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    for c in &r.changes {
        let _ = writeln!(s, "  {c}");
    }
    for d in &r.deliveries {
        let _ = writeln!(
            s,
            "  delivered {} (HTTP {}, delivery {})",
            d.target, d.status, d.delivery_id
        );
    }
    for t in &r.pending_triggers {
        let body = serde_json::to_string_pretty(&t["body"]).unwrap_or_default();
        let _ = writeln!(
            s,
            "  deploy trigger (printed, not sent) → {}:\n{}",
            t["target"].as_str().unwrap_or("?"),
            body.lines()
                .map(|l| format!("      {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(s)
}
