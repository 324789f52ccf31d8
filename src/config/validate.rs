//! From the raw shapes to the validated types: resolves paths, checks what
//! serde cannot (empty names, conflicting model keys, registry settings),
//! and names the key at fault in every error.

use std::path::{Path, PathBuf};

use super::diagnostics::config_error;
use super::locate::{Step, locate};
use super::raw::*;
use super::types::*;
use crate::error::{Error, Result};

pub(super) fn resolve(file: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(p)
    }
}

pub(super) fn validate(file: &Path, text: &str, raw: RawConfig) -> Result<Config> {
    for (key, value) in [
        ("holdout.label", Some(&raw.holdout.label)),
        ("holdout.id", raw.holdout.id.as_ref()),
        ("holdout.amount", raw.holdout.amount.as_ref()),
        ("holdout.weight", raw.holdout.weight.as_ref()),
    ] {
        if value.is_some_and(|v| v.is_empty()) {
            return Err(config_error(
                file,
                format!("{key}: the column name is empty"),
            ));
        }
    }
    let (path, format, summary) = match (raw.holdout.path, raw.holdout.summary) {
        (Some(p), None) => (resolve(file, &p.0), p.1, false),
        (None, Some(dir)) => (resolve(file, &dir), DataFormat::Parquet, true),
        (Some(_), Some(_)) => {
            return Err(config_error(
                file,
                "holdout: set `path` (a data file) or `summary` (a modelgate.summary/v1 directory), not both",
            ));
        }
        (None, None) => {
            return Err(config_error(
                file,
                "holdout.path: missing; name the holdout file (or a modelgate.summary/v1 directory as `summary`)",
            ));
        }
    };
    let holdout = HoldoutSpec {
        format,
        path,
        summary,
        label: raw.holdout.label,
        id: raw.holdout.id,
        amount: raw.holdout.amount,
        weight: raw.holdout.weight,
        positive: raw.holdout.positive,
    };
    let candidate = model_ref(file, "candidate", raw.candidate, &holdout)?;
    let production = raw
        .production
        .map(|m| model_ref(file, "production", m, &holdout))
        .transpose()?;
    let cost = raw.cost.map(|c| cost(file, c, &holdout)).transpose()?;
    let alert_budget = raw
        .metrics
        .alert_budget
        .map(|b| alert_budget(file, b))
        .transpose()?;
    let metrics = MetricsSpec {
        threshold: raw.metrics.threshold,
        at_fpr: raw.metrics.at_fpr,
        cost,
        alert_budget,
    };
    if let Threshold::Fixed(t) = metrics.threshold
        && !t.is_finite()
    {
        return Err(config_error(
            file,
            "metrics.threshold: expected a finite number",
        ));
    }
    let segments = segments(file, raw.segments)?;
    let stats = StatsSpec {
        resamples: raw.stats.bootstrap,
        seed: raw.stats.seed,
        confidence: raw.stats.confidence,
    };
    if stats.resamples != 0 && !(MIN_RESAMPLES..=MAX_RESAMPLES).contains(&stats.resamples) {
        return Err(config_error(
            file,
            format!(
                "stats.bootstrap: expected 0 (off) or {MIN_RESAMPLES} to {MAX_RESAMPLES} resamples, got {}",
                stats.resamples
            ),
        ));
    }
    if !(stats.confidence >= 0.5 && stats.confidence < 1.0) {
        return Err(config_error(
            file,
            format!(
                "stats.confidence: expected a level from 0.5 to below 1 (0.95 for 95%), got {}",
                stats.confidence
            ),
        ));
    }
    let lineage = LineageSpec {
        training_data: raw
            .lineage
            .as_ref()
            .and_then(|l| l.training_data.as_ref())
            .map(|p| ReferenceSpec {
                path: resolve(file, &p.0),
                format: p.1,
            }),
        params: match raw.lineage.and_then(|l| l.params) {
            None => LineageParams::None,
            Some(serde_norway::Value::String(p)) => {
                LineageParams::File(resolve(file, Path::new(&p)))
            }
            Some(v @ serde_norway::Value::Mapping(_)) => {
                LineageParams::Inline(serde_json::to_value(&v).map_err(|e| {
                    config_error(
                        file,
                        format!("lineage.params: cannot be expressed as JSON: {e}"),
                    )
                })?)
            }
            Some(_) => {
                return Err(config_error(
                    file,
                    "lineage.params: expected a map of parameters or the path of a JSON/YAML file",
                ));
            }
        },
    };
    if holdout.summary && raw.reference.is_some() {
        return Err(config_error(
            file,
            "reference: a summary carries its reference's profiles and KS tests (the Spark job's --reference); remove `reference`",
        ));
    }
    // The data that trained the model is the natural reference for data
    // checks and drift, unless another is named (or a summary holds it).
    let reference = raw
        .reference
        .map(|r| ReferenceSpec {
            path: resolve(file, &r.path.0),
            format: r.path.1,
        })
        .or_else(|| lineage.training_data.clone())
        .filter(|_| !holdout.summary);
    let dir = file.parent().unwrap_or(Path::new("."));
    let registry = match raw.registry {
        None => RegistrySpec::local_default(dir),
        Some(r) => {
            if r.kind == RegistryKind::Github && r.path.is_some() {
                return Err(config_error(
                    file,
                    "registry.path: only for `kind: local`; a GitHub registry lives in `repository`",
                ));
            }
            if r.kind == RegistryKind::Local && r.repository.is_some() {
                return Err(config_error(
                    file,
                    "registry.repository: only for `kind: github`",
                ));
            }
            if let Some(repo) = &r.repository
                && !valid_repository(repo)
            {
                return Err(config_error(
                    file,
                    format!("registry.repository: `{repo}` is not `owner/name`"),
                ));
            }
            RegistrySpec {
                kind: r.kind,
                path: resolve(
                    file,
                    r.path.as_deref().unwrap_or(Path::new(DEFAULT_REGISTRY_DIR)),
                ),
                repository: r.repository,
                token_env: r.token_env.unwrap_or_else(|| "GITHUB_TOKEN".into()),
            }
        }
    };
    let promote = match raw.promote {
        None => PromoteSpec::default(),
        Some(p) => {
            let dispatch = p
                .dispatch
                .map(|d| d.event_type.unwrap_or_else(|| "model-promoted".into()));
            if let Some(e) = &dispatch
                && (e.is_empty() || e.chars().count() > 100)
            {
                return Err(config_error(
                    file,
                    "promote.dispatch.event_type: must be 1 to 100 characters (GitHub's limit)",
                ));
            }
            let mut webhooks = Vec::new();
            for (i, w) in p.webhooks.into_iter().enumerate() {
                if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
                    return Err(config_error(
                        file,
                        format!(
                            "promote.webhooks[{i}].url: `{}` is not an http(s) URL",
                            w.url
                        ),
                    ));
                }
                webhooks.push(WebhookSpec {
                    url: w.url,
                    secret_env: w.secret_env,
                    legacy_headers: w.legacy_headers,
                });
            }
            PromoteSpec { dispatch, webhooks }
        }
    };
    let mut gates = Vec::with_capacity(raw.gates.len());
    for (i, g) in raw.gates.into_iter().enumerate() {
        if let Some(at) = g.with.as_ref().and_then(|w| non_finite(w, &mut Vec::new())) {
            let mut path = vec![
                Step::Key("gates".into()),
                Step::Index(i),
                Step::Key("with".into()),
            ];
            path.extend(at);
            let (line, column) = locate(text, &path).unzip();
            let key: String = path.iter().skip(1).map(ToString::to_string).collect();
            return Err(Error::Config {
                file: file.to_path_buf(),
                line,
                column,
                message: format!(
                    "gates{key}: not a finite number; a gate threshold or setting must be one"
                ),
            });
        }
        let with = match g.with {
            None => serde_json::Value::Object(Default::default()),
            Some(v) => serde_json::to_value(&v).map_err(|e| {
                config_error(
                    file,
                    format!("gates[{i}].with: cannot be expressed as JSON: {e}"),
                )
            })?,
        };
        if !with.is_object() {
            return Err(config_error(
                file,
                format!("gates[{i}].with: expected a map of settings"),
            ));
        }
        if g.uses.trim().is_empty() {
            return Err(config_error(
                file,
                format!(
                    "gates[{i}].uses: empty; expected `builtin:<name>` or a path to a .wasm file"
                ),
            ));
        }
        if let Some(id) = &g.id
            && (id.is_empty() || id.chars().any(|c| c.is_whitespace()))
        {
            return Err(config_error(
                file,
                format!("gates[{i}].id: `{id}` must be non-empty without spaces"),
            ));
        }
        let mut source = GateSource::parse(file.parent().unwrap_or(Path::new(".")), &g.uses);
        match (&mut source, &g.sha256) {
            (GateSource::Url { sha256, .. }, Some(pin)) => {
                let pin = pin
                    .strip_prefix("sha256:")
                    .unwrap_or(pin)
                    .to_ascii_lowercase();
                if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(config_error(
                        file,
                        format!("gates[{i}].sha256: `{pin}` is not a sha256 (64 hex digits)"),
                    ));
                }
                *sha256 = Some(pin);
            }
            (GateSource::Url { .. }, None) => {
                return Err(config_error(
                    file,
                    format!(
                        "gates[{i}].sha256: a gate downloaded from {} needs its sha256 pinned beside it (`sha256sum gate.wasm`), so that other bytes are refused",
                        g.uses
                    ),
                ));
            }
            (GateSource::Oci(uses), _) if !uses.contains("@sha256:") => {
                return Err(config_error(
                    file,
                    format!(
                        "gates[{i}].uses: {uses} is not pinned by digest; `modelgate gate lock` resolves its tag and writes the digest into this file"
                    ),
                ));
            }
            (GateSource::Oci(_), Some(_)) => {
                return Err(config_error(
                    file,
                    format!(
                        "gates[{i}].sha256: an oci:// gate is pinned in its reference (`@sha256:…`)"
                    ),
                ));
            }
            (_, Some(_)) => {
                return Err(config_error(
                    file,
                    format!("gates[{i}].sha256: only a gate downloaded by URL is pinned by digest"),
                ));
            }
            (_, None) => {}
        }
        gates.push(GateSpec {
            source,
            uses: g.uses,
            id: g.id,
            severity: g.severity,
            timeout: g.timeout.unwrap_or(DEFAULT_GATE_TIMEOUT),
            memory: g.memory.unwrap_or(DEFAULT_GATE_MEMORY),
            with,
        });
    }
    let config = Config {
        file: file.to_path_buf(),
        model: raw.model,
        holdout,
        candidate,
        production,
        metrics,
        stats,
        segments,
        reference,
        gates,
        registry,
        promote,
        lineage,
    };
    if config.holdout.summary {
        summary_limits(&config)?;
    }
    Ok(config)
}

/// What a `modelgate.summary/v1` holdout cannot give, refused by key: it
/// holds counts per score, profiles and a sample, not rows.
fn summary_limits(config: &Config) -> Result<()> {
    let h = &config.holdout;
    let refuse = |key: &str, why: &str| -> Result<()> {
        Err(config_error(
            &config.file,
            format!("{key}: {why} (holdout.summary holds counts, not rows)"),
        ))
    };
    if h.id.is_some() {
        refuse("holdout.id", "no row is named by a summary")?;
    }
    if h.weight.is_some() {
        refuse(
            "holdout.weight",
            "a modelgate.summary/v1 counts unweighted rows",
        )?;
    }
    if h.positive.is_some() {
        refuse(
            "holdout.positive",
            "the Spark job's --positive chose the positive class",
        )?;
    }
    for (key, model) in [
        ("candidate", Some(&config.candidate)),
        ("production", config.production.as_ref()),
    ] {
        match model {
            None | Some(ModelRef::Scores(ScoreSource::Column(_))) => {}
            Some(_) => refuse(
                key,
                "a summary holds score counts, not features: expected `scores: { column: ... }` naming a column the job summarised",
            )?,
        }
    }
    if !config.segments.is_empty() {
        refuse("segments", "segments need each row's segment value")?;
    }
    if let Some(AlertBudget::PerDay { .. }) = config.metrics.alert_budget {
        refuse(
            "metrics.alert_budget.per_day",
            "a per-day budget needs each row's timestamp; use `fraction`",
        )?;
    }
    Ok(())
}

fn alert_budget(file: &Path, raw: RawAlertBudget) -> Result<AlertBudget> {
    let key = "metrics.alert_budget";
    match (raw.per_day, raw.fraction, raw.timestamp) {
        (Some(_), Some(_), _) => Err(config_error(
            file,
            format!("{key}: give `per_day` (with `timestamp`) or `fraction`, not both"),
        )),
        (Some(0), None, _) => Err(config_error(
            file,
            format!("{key}.per_day: expected at least 1 alert a day"),
        )),
        (Some(alerts), None, Some(timestamp)) if !timestamp.is_empty() => {
            Ok(AlertBudget::PerDay { alerts, timestamp })
        }
        (Some(_), None, _) => Err(config_error(
            file,
            format!(
                "{key}.timestamp: `per_day` needs the column that dates each row, e.g. timestamp: event_time"
            ),
        )),
        (None, Some(f), None) if f > 0.0 && f <= 1.0 => Ok(AlertBudget::Fraction(f)),
        (None, Some(f), None) => Err(config_error(
            file,
            format!("{key}.fraction: expected a share of rows in (0, 1], got {f}"),
        )),
        (None, Some(_), Some(_)) => Err(config_error(
            file,
            format!("{key}.timestamp: only with `per_day`"),
        )),
        (None, None, _) => Err(config_error(
            file,
            format!("{key}: expected `per_day` (with `timestamp`) or `fraction`"),
        )),
    }
}

/// Columns cut once each; bins ascending, so every value falls in one bin.
fn segments(file: &Path, raw: Vec<RawSegment>) -> Result<Vec<SegmentSpec>> {
    let mut out: Vec<SegmentSpec> = Vec::new();
    for (i, s) in raw.into_iter().enumerate() {
        let key = format!("segments[{i}]");
        if s.column.is_empty() {
            return Err(config_error(
                file,
                format!("{key}.column: the column name is empty"),
            ));
        }
        if out.iter().any(|o| o.column == s.column) {
            return Err(config_error(
                file,
                format!("{key}.column: `{}` is already a segment column", s.column),
            ));
        }
        if let Some(bins) = &s.bins {
            if bins.len() < 2 {
                return Err(config_error(
                    file,
                    format!("{key}.bins: expected at least two edges, e.g. [0, 50, 500, .inf]"),
                ));
            }
            if bins.iter().any(|b| b.is_nan()) || bins.windows(2).any(|w| w[0] >= w[1]) {
                return Err(config_error(
                    file,
                    format!("{key}.bins: expected strictly ascending edges, got {bins:?}"),
                ));
            }
        }
        let min_positives = s.min_positives.unwrap_or(DEFAULT_SEGMENT_MIN_POSITIVES);
        if min_positives < 2 {
            return Err(config_error(
                file,
                format!("{key}.min_positives: expected at least 2, got {min_positives}"),
            ));
        }
        out.push(SegmentSpec {
            column: s.column,
            bins: s.bins,
            min_positives,
        });
    }
    Ok(out)
}

fn cost(file: &Path, raw: RawCost, holdout: &HoldoutSpec) -> Result<CostSpec> {
    let price = |key: &str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(config_error(
                file,
                format!("cost.{key}: expected a finite cost >= 0, got {v}"),
            ))
        }
    };
    let false_negative = match raw.false_negative {
        RawMissCost::Each(v) => MissCost::Each(price("false_negative", v)?),
        RawMissCost::Column(c) if c == "amount" => {
            if holdout.amount.is_none() {
                return Err(config_error(
                    file,
                    "cost.false_negative: `amount` needs `holdout.amount`, the column of transaction amounts",
                ));
            }
            MissCost::Amount
        }
        RawMissCost::Column(c) => {
            return Err(config_error(
                file,
                format!("cost.false_negative: expected `amount` or a number, got `{c}`"),
            ));
        }
    };
    Ok(CostSpec {
        false_positive: price("false_positive", raw.false_positive)?,
        false_negative,
    })
}

/// The path to the first NaN or infinity under `v`. JSON has neither, so
/// the conversion of `with:` would silently turn them into `null`.
fn non_finite(v: &serde_norway::Value, path: &mut Vec<Step>) -> Option<Vec<Step>> {
    use serde_norway::Value as V;
    match v {
        V::Number(n) if n.as_f64().is_some_and(|f| !f.is_finite()) => Some(path.clone()),
        V::Sequence(items) => items.iter().enumerate().find_map(|(i, item)| {
            path.push(Step::Index(i));
            let found = non_finite(item, path);
            path.pop();
            found
        }),
        V::Mapping(m) => m.iter().find_map(|(k, item)| {
            let key = match k {
                V::String(s) => s.clone(),
                other => serde_norway::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            };
            path.push(Step::Key(key));
            let found = non_finite(item, path);
            path.pop();
            found
        }),
        V::Tagged(t) => non_finite(&t.value, path),
        _ => None,
    }
}

/// `owner/name` with GitHub's allowed characters.
pub fn valid_repository(repo: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(repo.split_once('/'), Some((o, n)) if ok(o) && ok(n))
}

pub(super) const MODEL_KEYS: &str =
    "`scores`, `onnx`, `xgboost`, `lightgbm`, `linfa`, or `registry: production`";

pub(super) fn model_ref(
    file: &Path,
    key: &str,
    raw: RawModel,
    holdout: &HoldoutSpec,
) -> Result<ModelRef> {
    let given: Vec<&str> = [
        ("scores", raw.scores.is_some()),
        ("linfa", raw.linfa.is_some()),
        ("onnx", raw.onnx.is_some()),
        ("xgboost", raw.xgboost.is_some()),
        ("lightgbm", raw.lightgbm.is_some()),
        ("registry", raw.registry.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if given.len() > 1 {
        return Err(config_error(
            file,
            format!(
                "{key}: several model sources given ({}); choose one",
                given.join(", ")
            ),
        ));
    }
    if let Some(features) = &raw.features
        && (features.is_empty() || features.iter().any(|f| f.is_empty()))
    {
        return Err(config_error(
            file,
            format!("{key}.features: expected a non-empty list of column names"),
        ));
    }
    for (format, a) in [
        (ArtifactFormat::Linfa, raw.linfa),
        (ArtifactFormat::Onnx, raw.onnx),
        (ArtifactFormat::Xgboost, raw.xgboost),
        (ArtifactFormat::Lightgbm, raw.lightgbm),
    ] {
        if let Some(a) = a {
            let path = resolve(file, &a.path);
            refuse_pickle(&path)?;
            return Ok(ModelRef::Artifact(ArtifactRef {
                format,
                path,
                features: raw.features,
            }));
        }
    }
    if let Some(alias) = raw.registry {
        if alias != "production" {
            return Err(config_error(
                file,
                format!("{key}.registry: `{alias}` is not an alias; the registry has `production`"),
            ));
        }
        return Ok(ModelRef::Registry { alias });
    }
    if raw.features.is_some() {
        return Err(config_error(
            file,
            format!("{key}.features: only meaningful for a model file"),
        ));
    }
    let Some(scores) = raw.scores else {
        return Err(config_error(
            file,
            format!("{key}: no model given; expected one of {MODEL_KEYS}"),
        ));
    };
    if scores.column.is_empty() {
        return Err(config_error(
            file,
            format!("{key}.scores.column: the column name is empty"),
        ));
    }
    let source = match scores.path {
        None => {
            if scores.join_on.is_some() {
                return Err(config_error(
                    file,
                    format!(
                        "{key}.scores.join_on: only meaningful with `path` (an external score file)"
                    ),
                ));
            }
            ScoreSource::Column(scores.column)
        }
        Some(path) => {
            let join_on = scores.join_on.or_else(|| holdout.id.clone()).ok_or_else(|| {
                config_error(
                    file,
                    format!(
                        "{key}.scores: an external score file needs `join_on` (or `holdout.id`) to match its rows to the holdout"
                    ),
                )
            })?;
            if holdout.id.is_none() {
                return Err(config_error(
                    file,
                    format!(
                        "{key}.scores: an external score file needs `holdout.id`, the holdout's join key"
                    ),
                ));
            }
            ScoreSource::File {
                format: path.1,
                path: resolve(file, &path.0),
                column: scores.column,
                join_on,
            }
        }
    };
    Ok(ModelRef::Scores(source))
}
