//! GitHub Actions integration: annotations, step outputs and the step
//! summary. Active only when `GITHUB_ACTIONS=true`; the file paths come from
//! the runner's `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`.

use std::io::Write;
use std::path::Path;

use crate::decision::{Decision, Outcome};
use crate::error::{Error, Result};
use crate::gates::Verdict;

/// GitHub shows at most this many annotations of each kind per step.
pub const MAX_ANNOTATIONS: usize = 10;
/// GitHub's limit for one step summary.
pub const MAX_SUMMARY_BYTES: usize = 1 << 20;

/// Escapes a workflow-command message (`%`, CR, LF).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The line of each gate's `uses:` in the config text, for the first `n`
/// gates, found by the YAML parser (block or flow style alike).
pub fn gate_lines(config: &str, n: usize) -> Vec<usize> {
    use crate::config::{Step, locate};
    (0..n)
        .map_while(|i| {
            let path = [
                Step::Key("gates".into()),
                Step::Index(i),
                Step::Key("uses".into()),
            ];
            locate(config, &path).map(|(line, _)| line)
        })
        .collect()
}

/// `::error` lines for blocking gates, then `::warning` lines for warnings
/// and non-blocking failures; errors before failures, at most ten of each.
/// With the config file and its gate lines, each points at its gate.
pub fn annotations(d: &Decision, config: Option<(&Path, &[usize])>) -> Vec<String> {
    let position = |g: &crate::gates::GateResult| -> String {
        let index = d.gates.iter().position(|x| std::ptr::eq(x, g));
        match (config, index) {
            (Some((file, lines)), Some(i)) if i < lines.len() => format!(
                "file={},line={},",
                escape_property(&file.display().to_string()),
                lines[i]
            ),
            _ => String::new(),
        }
    };
    let line = |kind: &str, g: &crate::gates::GateResult| {
        format!(
            "::{kind} {}title={}::{}",
            position(g),
            escape_property(&format!("modelgate gate {} ({:?})", g.id, g.verdict).to_lowercase()),
            escape_data(&g.summary)
        )
    };
    let mut errors: Vec<&crate::gates::GateResult> =
        d.gates.iter().filter(|g| g.blocking).collect();
    errors.sort_by_key(|g| g.verdict != Verdict::Error);
    let warnings = d
        .gates
        .iter()
        .filter(|g| !g.blocking && matches!(g.verdict, Verdict::Warn | Verdict::Fail));
    errors
        .into_iter()
        .take(MAX_ANNOTATIONS)
        .map(|g| line("error", g))
        .chain(warnings.take(MAX_ANNOTATIONS).map(|g| line("warning", g)))
        .collect()
}

/// Cuts markdown to at most `max` bytes at a line boundary, with a note.
pub fn truncate_summary(markdown: &str, max: usize) -> String {
    if markdown.len() <= max {
        return markdown.to_string();
    }
    let note = "\n\n> The report was truncated to fit GitHub's step summary limit; the full report is in the JSON and markdown files.\n";
    let budget = max.saturating_sub(note.len());
    let mut cut = budget.min(markdown.len());
    while !markdown.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = markdown[..cut].rfind('\n').unwrap_or(cut);
    format!("{}{note}", &markdown[..cut])
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io("cannot open", path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write", path, e))
}

/// Writes the step outputs and summary when running in GitHub Actions.
pub fn publish(d: &Decision, markdown: &str) -> Result<()> {
    if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") {
        return Ok(());
    }
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        let decision = match d.decision {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
        };
        append(
            Path::new(&path),
            &format!("decision={decision}\nblocking={}\n", d.blocking.join(",")),
        )?;
    }
    let summary = std::env::var("MODELGATE_SUMMARY").as_deref() != Ok("false");
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| summary && !p.is_empty())
    {
        append(
            Path::new(&path),
            &truncate_summary(markdown, MAX_SUMMARY_BYTES),
        )?;
    }
    Ok(())
}

/// Writes `promoted`, `version` and `production-version` for `promote` and
/// `register` when running in GitHub Actions.
pub fn publish_promotion(r: &crate::promote::Report) -> Result<()> {
    if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") {
        return Ok(());
    }
    let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let promoted = matches!(
        r.status,
        crate::promote::Status::Promoted | crate::promote::Status::AlreadyProduction
    );
    let version = r.version.as_ref().map_or("", |v| v.version.as_str());
    let production = if promoted && !r.dry_run {
        version
    } else {
        r.previous_production.as_deref().unwrap_or("")
    };
    append(
        Path::new(&path),
        &format!(
            "promoted={}\nversion={version}\nproduction-version={production}\n",
            promoted && !r.dry_run
        ),
    )?;
    if let Some(a) = &r.attestation {
        append(
            Path::new(&path),
            &format!(
                "attestation-predicate={}\nattestation-subjects={}\n",
                a.predicate.display(),
                a.subjects.display()
            ),
        )?;
    }
    let summary = std::env::var("MODELGATE_SUMMARY").as_deref() != Ok("false");
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| summary && !p.is_empty())
    {
        append(
            Path::new(&path),
            &crate::report::registry::outcome_markdown(r),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_lines_find_each_uses_under_gates() {
        let cfg = "model: m\nholdout: { path: h.csv, label: y }\ngates:\n  - uses: builtin:drift\n    with: { a: 1 }\n  # a comment\n  -   uses: ./g.wasm\nreference:\n  uses: nope\n";
        assert_eq!(gate_lines(cfg, 10), vec![4, 7]);
        assert_eq!(gate_lines(cfg, 1), vec![4]);
        let flow = "model: m\ngates: [{ uses: a.wasm },\n  { id: b, uses: b.wasm }]\n";
        assert_eq!(gate_lines(flow, 10), vec![2, 3]);
    }

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(escape_data("50% a\nb"), "50%25 a%0Ab");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn truncation_stays_under_the_limit_at_a_line_boundary() {
        let md: String = (0..10_000).map(|i| format!("| row {i} | é |\n")).collect();
        let t = truncate_summary(&md, 4096);
        assert!(t.len() <= 4096, "{}", t.len());
        assert!(t.contains("truncated"));
        assert!(t.lines().next().unwrap().starts_with("| row 0"));
        assert_eq!(truncate_summary("short", 4096), "short");
    }
}
