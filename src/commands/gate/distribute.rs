//! `modelgate gate push` and `gate lock`: gates shared between repositories
//! by digest. `push` publishes a component to an OCI registry and prints
//! the pinned reference to paste into a config. `lock` rewrites each
//! `oci://` tag in `modelgate.yaml` into `tag@sha256:…` (the config itself is
//! the lock file: one file to review, and the tag stays readable) and
//! fetches every remote gate into the cache, so the next run, even
//! `--offline`, uses exactly those bytes.

use std::io::Write;
use std::path::Path;

use super::super::{ExitStatus, out_err};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::gates::{self, GateEngine, fetch, oci};

pub fn gate_push(component: &Path, reference: &str, stdout: &mut dyn Write) -> Result<ExitStatus> {
    if !reference.starts_with("oci://") {
        return Err(Error::Usage(format!(
            "gate push: {reference}: expected oci://registry/repository:tag"
        )));
    }
    let bytes =
        std::fs::read(component).map_err(|e| Error::io("cannot read gate", component, e))?;
    // Only a loadable gate is published.
    let label = component.display().to_string();
    let engine = GateEngine::global()?;
    let loaded = engine.load(&label, &bytes)?;
    let digest = oci::push(reference, &bytes, &loaded.imports)?;
    writeln!(
        stdout,
        "pushed {label} to {reference}\n  manifest {digest}\n  component sha256:{}\nuse it as:\n  - uses: {reference}@{digest}",
        loaded.sha256
    )
    .map_err(out_err)?;
    Ok(ExitStatus::Success)
}

pub fn gate_lock(config: &Path, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let text = std::fs::read_to_string(config).map_err(|e| Error::io("cannot read", config, e))?;
    let raw: serde_norway::Value = serde_norway::from_str(&text).map_err(|e| Error::Config {
        file: config.to_path_buf(),
        line: e.location().map(|l| l.line()),
        column: e.location().map(|l| l.column()),
        message: e.to_string(),
    })?;
    let mut locked = text.clone();
    let mut lines = Vec::new();
    let gates = raw
        .get("gates")
        .and_then(|g| g.as_sequence())
        .cloned()
        .unwrap_or_default();
    for g in &gates {
        let Some(uses) = g.get("uses").and_then(|u| u.as_str()) else {
            continue;
        };
        if uses.starts_with("oci://") {
            let pinned = if uses.contains("@sha256:") {
                uses.to_string()
            } else {
                let digest = oci::resolve(uses)?;
                let pinned = format!("{uses}@{digest}");
                locked = replace_reference(&locked, uses, &pinned);
                lines.push(format!("locked  {uses} -> {digest}"));
                pinned
            };
            oci::pull(&pinned)?;
            lines.push(format!("cached  {pinned}"));
        } else if (uses.starts_with("https://") || uses.starts_with("http://"))
            && let Some(sha) = g.get("sha256").and_then(|s| s.as_str())
        {
            let sha = sha
                .strip_prefix("sha256:")
                .unwrap_or(sha)
                .to_ascii_lowercase();
            fetch::fetch(uses, &sha).map_err(Error::Gate)?;
            lines.push(format!("cached  {uses} (sha256 {sha})"));
        }
    }
    if locked != text {
        crate::fs::write_atomic(config, locked.as_bytes())?;
    }
    // The locked file must load as a config, with every gate resolvable.
    let c = Config::load(config)?;
    gates::prepare(&c.gates)?;
    writeln!(
        stdout,
        "{}{} gate(s) pinned and cached in {}",
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        lines.iter().filter(|l| l.starts_with("cached")).count(),
        config.display()
    )
    .map_err(out_err)?;
    Ok(ExitStatus::Success)
}

/// Replaces `from` with `to` where it stands as a whole reference (not as
/// the prefix of a longer tag such as `:1` in `:1.2`).
fn replace_reference(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len() + to.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        let whole = after
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}' | ']' | '#'));
        out.push_str(&rest[..at]);
        out.push_str(if whole { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_replaced_only_where_it_stands_whole() {
        let text =
            "- uses: oci://r/g:1\n- { uses: \"oci://r/g:1\", id: b }\n- uses: oci://r/g:1.2\n";
        assert_eq!(
            replace_reference(text, "oci://r/g:1", "oci://r/g:1@sha256:ab"),
            "- uses: oci://r/g:1@sha256:ab\n- { uses: \"oci://r/g:1@sha256:ab\", id: b }\n- uses: oci://r/g:1.2\n"
        );
    }
}
