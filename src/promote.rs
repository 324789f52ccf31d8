//! Registering and promoting a model version.
//!
//! `promote` runs the gates, and only when nothing blocks: publishes the
//! version (artifacts and evidence, verified), moves the production alias,
//! then fires the deploy triggers. Each step reads the registry first, so a
//! re-run after a failure anywhere completes the promotion once: the alias
//! moves only after the version is complete, and triggers fire only after
//! the alias moved, each delivery recorded so it is not repeated.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use crate::config::{ArtifactFormat, ArtifactRef, Config, ModelRef, RegistryKind, refuse_pickle};
use crate::decision::{self, Decision, Outcome};
use crate::deploy::{self, Event};
use crate::error::{Error, Result};
use crate::github::GitHub;
use crate::lineage::{self, ArtifactDigest, Lineage};
use crate::model::Loaded;
use crate::registry::{
    self, Bump, Bundle, DELIVERIES_SCHEMA, Deliveries, Delivery, PRODUCTION, PROMOTION_SCHEMA,
    Promotion, Registry, VERSION_SCHEMA, Version, VersionRecord,
};

pub const SCHEMA: &str = "modelgate.promotion-run/v1";

#[derive(Debug, Clone)]
pub struct Options {
    pub dry_run: bool,
    /// An explicit version instead of the automatic bump.
    pub version: Option<Version>,
    pub bump: Bump,
    /// The artifact to register, when the candidate is not a model file.
    pub model_file: Option<PathBuf>,
    /// Print deploy trigger payloads instead of sending them.
    pub print_triggers: bool,
    /// Write the attestation predicate and subjects into this directory
    /// once the version is production (for `actions/attest`).
    pub attestation: Option<PathBuf>,
}

/// What a `promote` or `register` did, as the `modelgate.promotion-run/v1` document.
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub model: String,
    pub registry: String,
    pub dry_run: bool,
    pub status: Status,
    pub version: Option<VersionRecord>,
    pub previous_production: Option<String>,
    pub promotion: Option<Promotion>,
    pub deliveries: Vec<Delivery>,
    /// Trigger payloads that were printed or would be sent, not delivered.
    pub pending_triggers: Vec<serde_json::Value>,
    pub changes: Vec<String>,
    pub notes: Vec<String>,
    /// The predicate and subjects files written for `actions/attest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Attestation>,
    #[serde(skip)]
    pub decision: Option<Decision>,
    /// The lineage written with the version (in the registry, not repeated here).
    #[serde(skip)]
    pub lineage: Option<Lineage>,
}

/// The files `actions/attest` takes: `predicate-path` and `subject-checksums`.
#[derive(Debug, Serialize)]
pub struct Attestation {
    pub predicate: PathBuf,
    pub subjects: PathBuf,
}

/// How a `promote` or `register` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A gate blocked: nothing was registered or promoted.
    Blocked,
    /// The version was registered (by `register`, whatever the decision).
    Registered,
    /// The version became production.
    Promoted,
    /// These artifacts were already production; only unfinished triggers ran.
    AlreadyProduction,
}

/// Renders a decision as the markdown evidence stored with a version. The
/// command layer supplies it, so this module needs no report renderer.
pub type Evidence<'a> = &'a dyn Fn(&Decision) -> Result<String>;

impl Report {
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|source| Error::Json {
            what: "the promotion report",
            source,
        })
    }
}

/// The deployable files of the candidate, with their digests.
pub fn candidate_artifacts(
    config: &Config,
    model_file: Option<&Path>,
) -> Result<Vec<(ArtifactDigest, PathBuf)>> {
    let (path, format) = match (model_file, &config.candidate) {
        (Some(p), _) => {
            refuse_pickle(p)?;
            // A `.json` may be a linfa or an XGBoost model: keep what loads.
            let format = [
                ArtifactFormat::guess(p),
                Some(ArtifactFormat::Linfa),
                Some(ArtifactFormat::Xgboost),
            ]
            .into_iter()
            .flatten()
            .find(|f| Loaded::load(*f, p).is_ok());
            (p.to_path_buf(), format)
        }
        (None, ModelRef::Artifact(a)) => (a.path.clone(), Some(a.format)),
        (None, _) => {
            return Err(Error::Usage(
                "the candidate is given as scores, so modelgate does not know which file to deploy: pass --model-file PATH".into(),
            ));
        }
    };
    let digest = ArtifactDigest::of(&path, format.map(ArtifactFormat::key))?;
    Ok(vec![(digest, path)])
}

/// Replaces `production: { registry: production }` with the current
/// production artifact (fetched once, cached by sha256), or removes it when
/// the registry has no production yet. Returns the current promotion.
pub fn resolve_production(
    config: &mut Config,
    reg: &dyn Registry,
    notes: &mut Vec<String>,
) -> Result<Option<(Promotion, VersionRecord)>> {
    let current = registry::production(reg, &config.model)?;
    if !matches!(config.production, Some(ModelRef::Registry { .. })) {
        return Ok(current);
    }
    match &current {
        None => {
            notes.push(format!(
                "{} has no production version yet: the candidate is judged by the absolute gates alone",
                config.model
            ));
            config.production = None;
        }
        Some((p, v)) => {
            let artifact = v.scorable().ok_or_else(|| Error::Registry {
                location: reg.location(),
                message: format!(
                    "production {} {} has no artifact modelgate can score ({}); compare with `production: {{ scores: ... }}` instead",
                    v.model,
                    v.version,
                    v.artifacts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            })?;
            let path = registry::cached_artifact(reg, v, artifact)?;
            let format = artifact
                .format
                .as_deref()
                .and_then(ArtifactFormat::from_key)
                .unwrap_or(ArtifactFormat::Linfa);
            // A model file without input names (ONNX) takes the candidate's.
            let features = match &config.candidate {
                ModelRef::Artifact(a) => a.features.clone(),
                _ => None,
            };
            notes.push(format!(
                "production is {} {} ({}), sha256 {}",
                v.model, v.version, p.tag, artifact.sha256
            ));
            config.production = Some(ModelRef::Artifact(ArtifactRef {
                format,
                path,
                features,
            }));
        }
    }
    Ok(current)
}

/// Evidence files for a version.
fn bundle(
    config: &Config,
    d: &Decision,
    version: Version,
    artifacts: Vec<(ArtifactDigest, PathBuf)>,
    parent: Option<String>,
    evidence: Evidence,
) -> Result<(Bundle, Lineage)> {
    let dir = config.file.parent().unwrap_or(Path::new("."));
    let code = lineage::code(dir);
    let training = lineage::training_data(config)
        .map(|t| lineage::dataset(&t))
        .transpose()?;
    let created_at = lineage::now();
    let creator = lineage::creator();
    let lineage = Lineage {
        schema: lineage::SCHEMA.into(),
        model: config.model.clone(),
        version: version.to_string(),
        parent,
        created_at: created_at.clone(),
        creator: creator.clone(),
        training_data: training,
        code: code.clone(),
        params: lineage::params(config)?,
        artifacts: artifacts.iter().map(|a| a.0.clone()).collect(),
    };
    let record = VersionRecord {
        schema: VERSION_SCHEMA.into(),
        model: config.model.clone(),
        version: version.to_string(),
        tag: registry::version_tag(&config.model, version),
        created_at,
        creator,
        commit: code.map(|c| c.commit),
        artifacts: artifacts.iter().map(|a| a.0.clone()).collect(),
        decision: Some(match d.decision {
            Outcome::Pass => "pass".into(),
            Outcome::Fail => "fail".into(),
        }),
        url: None,
    };
    let lineage_json = pretty(&lineage)?;
    let bundle = Bundle {
        record,
        files: vec![
            ("lineage.json".into(), lineage_json),
            (
                "evaluation.json".into(),
                d.evaluation.to_json()?.into_bytes(),
            ),
            ("decision.json".into(), d.to_json()?.into_bytes()),
            ("report.md".into(), evidence(d)?.into_bytes()),
        ],
        artifacts,
    };
    Ok((bundle, lineage))
}

fn pretty<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        what: "a registry file",
        source,
    })?;
    v.push(b'\n');
    Ok(v)
}

/// Picks the version: the existing one with the same artifacts, the one
/// asked for, or the next after the highest.
fn choose_version(
    existing: &[VersionRecord],
    artifacts: &[(ArtifactDigest, PathBuf)],
    opts: &Options,
) -> Result<(Version, Option<VersionRecord>)> {
    let digests: Vec<ArtifactDigest> = artifacts.iter().map(|a| a.0.clone()).collect();
    if let Some(same) = existing.iter().find(|v| v.same_artifacts(&digests)) {
        let v = same.parsed_version().unwrap_or(registry::FIRST_VERSION);
        if let Some(asked) = opts.version
            && asked != v
        {
            return Err(Error::Usage(format!(
                "these artifacts are already registered as {v}; a version's bytes have one version number (asked for {asked})"
            )));
        }
        return Ok((v, Some(same.clone())));
    }
    let v = opts
        .version
        .unwrap_or_else(|| registry::next_version(existing, opts.bump));
    Ok((v, None))
}

fn report_base(config: &Config, reg: &dyn Registry, opts: &Options) -> Report {
    Report {
        schema: SCHEMA,
        model: config.model.clone(),
        registry: reg.location(),
        dry_run: opts.dry_run,
        status: Status::Blocked,
        version: None,
        previous_production: None,
        promotion: None,
        deliveries: Vec::new(),
        pending_triggers: Vec::new(),
        changes: Vec::new(),
        notes: Vec::new(),
        attestation: None,
        decision: None,
        lineage: None,
    }
}

/// `modelgate register`: evaluates and gates for the evidence, then
/// publishes the version whatever the decision, without promoting it.
pub fn register(mut config: Config, opts: &Options, evidence: Evidence) -> Result<Report> {
    let reg = registry::open(&config.registry, opts.dry_run)?;
    let mut out = report_base(&config, reg.as_ref(), opts);
    let artifacts = candidate_artifacts(&config, opts.model_file.as_deref())?;
    let current = resolve_production(&mut config, reg.as_ref(), &mut out.notes)?;
    out.previous_production = current.as_ref().map(|c| c.1.version.clone());
    let d = decision::run(&config)?;
    let record = publish_version(
        &config,
        reg.as_ref(),
        &d,
        artifacts,
        opts,
        evidence,
        &mut out,
    )?;
    out.status = Status::Registered;
    out.version = Some(record);
    out.decision = Some(d);
    out.changes = reg.changes().take();
    Ok(out)
}

/// Publishes the candidate's version with its evidence: the existing
/// version with the same artifacts, or a new one. Publishing an existing
/// version again completes the uploads of an interrupted run and is a no-op
/// otherwise.
fn publish_version(
    config: &Config,
    reg: &dyn Registry,
    d: &Decision,
    artifacts: Vec<(ArtifactDigest, PathBuf)>,
    opts: &Options,
    evidence: Evidence,
    out: &mut Report,
) -> Result<VersionRecord> {
    let existing = reg.versions(&config.model)?;
    let (version, found) = choose_version(&existing, &artifacts, opts)?;
    let (mut b, lineage) = bundle(
        config,
        d,
        version,
        artifacts,
        out.previous_production.clone(),
        evidence,
    )?;
    if let Some(f) = found {
        out.notes
            .push(format!("already registered as {}", f.version));
        b.record = f;
    } else {
        out.lineage = Some(lineage);
    }
    crate::progress::step(&format!("publishing {} {version}", config.model));
    let t = std::time::Instant::now();
    let record = reg.publish(&b)?;
    crate::progress::done(
        &format!("published {} {}", record.model, record.version),
        t.elapsed().as_secs_f64() * 1e3,
    );
    Ok(record)
}

/// `modelgate promote`.
pub fn promote(mut config: Config, opts: &Options, evidence: Evidence) -> Result<Report> {
    let reg = registry::open(&config.registry, opts.dry_run)?;
    let mut out = report_base(&config, reg.as_ref(), opts);
    let artifacts = candidate_artifacts(&config, opts.model_file.as_deref())?;
    let digests: Vec<ArtifactDigest> = artifacts.iter().map(|a| a.0.clone()).collect();

    // Already production (a re-run): only finish what is left, the triggers.
    if let Some((p, v)) = registry::production(reg.as_ref(), &config.model)?
        && v.same_artifacts(&digests)
    {
        out.notes.push(format!(
            "{} {} is already production ({}); nothing to gate or publish",
            v.model, v.version, p.tag
        ));
        out.status = Status::AlreadyProduction;
        out.previous_production = p.previous.clone();
        fire_triggers(&config, reg.as_ref(), &p, &v, opts, &mut out)?;
        attest(reg.as_ref(), &v, &p, opts, &mut out)?;
        out.version = Some(v);
        out.promotion = Some(p);
        out.changes = reg.changes().take();
        return Ok(out);
    }

    let current = resolve_production(&mut config, reg.as_ref(), &mut out.notes)?;
    out.previous_production = current.as_ref().map(|c| c.1.version.clone());
    let d = decision::run(&config)?;
    if d.decision == Outcome::Fail {
        out.notes.push(format!(
            "blocked by {}: nothing was registered or promoted",
            d.blocking.join(", ")
        ));
        out.decision = Some(d);
        return Ok(out);
    }

    let record = publish_version(
        &config,
        reg.as_ref(),
        &d,
        artifacts,
        opts,
        evidence,
        &mut out,
    )?;

    // Compare-and-swap on the alias: production must still be the one the
    // gates compared with. Another run may have promoted meanwhile (two
    // merges a minute apart); promoting over it would skip that comparison.
    let now = registry::production(reg.as_ref(), &config.model)?;
    let number_of = |c: &Option<(Promotion, VersionRecord)>| c.as_ref().map(|(p, _)| p.number);
    if !reg.changes().dry_run
        && number_of(&now) != number_of(&current)
        && let Some((p, v)) = now
    {
        out.decision = Some(d);
        out.previous_production = Some(v.version.clone());
        if v.same_artifacts(&digests) {
            out.status = Status::AlreadyProduction;
            out.notes.push(format!(
                "another run promoted these artifacts as {} {} ({}) while the gates ran",
                v.model, v.version, p.tag
            ));
        } else {
            out.status = Status::Blocked;
            out.notes.push(format!(
                "production moved to {} {} ({}) while the gates ran against {}: not promoting over a model the candidate was not compared with. {} {} stays registered; re-run to compare against the new production",
                v.model,
                v.version,
                p.tag,
                current
                    .as_ref()
                    .map_or("no production".to_string(), |(_, c)| c.version.clone()),
                record.model,
                record.version
            ));
        }
        out.version = Some(record);
        out.changes = reg.changes().take();
        return Ok(out);
    }
    let number = reg
        .promotions(&config.model)?
        .iter()
        .map(|p| p.number)
        .max()
        .unwrap_or(0)
        + 1;
    let promotion = Promotion {
        schema: PROMOTION_SCHEMA.into(),
        model: config.model.clone(),
        number,
        alias: PRODUCTION.into(),
        version: record.version.clone(),
        tag: registry::production_tag(&config.model, number),
        previous: out.previous_production.clone(),
        at: lineage::now(),
        by: lineage::creator(),
        decision: d.summary.clone(),
    };
    reg.record_promotion(&promotion, &record)?;
    out.status = Status::Promoted;
    out.decision = Some(d);
    fire_triggers(&config, reg.as_ref(), &promotion, &record, opts, &mut out)?;
    attest(reg.as_ref(), &record, &promotion, opts, &mut out)?;
    out.version = Some(record);
    out.promotion = Some(promotion);
    out.changes = reg.changes().take();
    Ok(out)
}

/// Writes what `actions/attest` signs, when asked, from the registry's
/// bytes. After the triggers: a failure there is an error the re-run
/// repeats, and the re-run attests then.
fn attest(
    reg: &dyn Registry,
    v: &VersionRecord,
    p: &Promotion,
    opts: &Options,
    out: &mut Report,
) -> Result<()> {
    let Some(dir) = opts.attestation.as_deref().filter(|_| !opts.dry_run) else {
        return Ok(());
    };
    let predicate = crate::attest::predicate(reg, v, Some(p))?;
    let (predicate, subjects) = crate::attest::write(dir, &predicate)?;
    out.notes.push(format!(
        "attestation predicate ({}) written to {}",
        crate::attest::PREDICATE_TYPE,
        predicate.display()
    ));
    out.attestation = Some(Attestation {
        predicate,
        subjects,
    });
    Ok(())
}

/// Sends each configured trigger not yet delivered for this promotion and
/// records the deliveries. A failed trigger is an error after the others
/// were tried; the alias stays moved and a re-run retries what failed.
fn fire_triggers(
    config: &Config,
    reg: &dyn Registry,
    p: &Promotion,
    v: &VersionRecord,
    opts: &Options,
    out: &mut Report,
) -> Result<()> {
    // The decision record's digest, so a receiver can tie the deployment
    // to the evidence it was decided on.
    // A dry run wrote no version to read it from.
    let evidence = match reg.fetch(v, "decision.json") {
        Ok(bytes) => Some(crate::registry::sha256_hex(&bytes)),
        Err(_) if reg.changes().dry_run => None,
        Err(e) => return Err(e),
    };
    let event = Event {
        promotion: p,
        version: v,
        decision: json!({"outcome": "pass", "summary": p.decision, "evidence_sha256": evidence}),
        registry: reg.location(),
    };
    let mut record = reg.deliveries(v, p)?.unwrap_or_else(|| Deliveries {
        schema: DELIVERIES_SCHEMA.into(),
        promotion: p.number,
        delivered: Vec::new(),
    });
    let already = record.delivered.len();
    let done = |target: &str, r: &Deliveries| r.delivered.iter().any(|d| d.target == target);
    let print_only = opts.print_triggers || opts.dry_run;
    let mut failures = Vec::new();

    if let Some(event_type) = &config.promote.dispatch
        && !done("repository_dispatch", &record)
    {
        let payload =
            json!({"event_type": event_type, "client_payload": deploy::client_payload(&event)});
        let gh = if print_only {
            None
        } else {
            dispatch_client(config).map_or_else(
                |e| {
                    out.notes
                        .push(format!("repository_dispatch not sent: {e:#}"));
                    None
                },
                Some,
            )
        };
        match gh {
            None => out
                .pending_triggers
                .push(json!({"target": "repository_dispatch", "body": payload})),
            Some(gh) => match deploy::dispatch(&gh, event_type, &event) {
                Ok(d) => record.delivered.push(d),
                Err(e) => failures.push(format!("{e:#}")),
            },
        }
    }
    // A GitHub registry records each promotion as a GitHub Deployment.
    if config.registry.kind == RegistryKind::Github && !done(deploy::DEPLOYMENT_TARGET, &record) {
        if print_only {
            out.pending_triggers.push(json!({
                "target": deploy::DEPLOYMENT_TARGET,
                "environment": "production",
                "ref": v.tag,
            }));
        } else {
            match dispatch_client(config).and_then(|gh| deploy::deployment(&gh, &event)) {
                Ok(d) => record.delivered.push(d),
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
    }
    for hook in &config.promote.webhooks {
        if done(&hook.url, &record) {
            continue;
        }
        if print_only {
            out.pending_triggers.push(json!({
                "target": hook.url,
                "delivery_id": registry::delivery_id(p, &hook.url),
                "signed_with": hook.secret_env,
                "body": deploy::webhook_body(&event),
            }));
            continue;
        }
        match deploy::webhook(hook, &event) {
            Ok(d) => record.delivered.push(d),
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    if record.delivered.len() > already {
        reg.record_deliveries(v, &record)?;
    }
    out.deliveries = record.delivered;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Trigger(format!(
            "{} {} is production, but {} deploy trigger(s) failed: {}. Re-run `modelgate promote` to retry them; delivered ones are not repeated",
            v.model,
            v.version,
            failures.len(),
            failures.join("; ")
        )))
    }
}

/// The GitHub client for the dispatch: the registry's repository for a
/// GitHub registry, else `$GITHUB_REPOSITORY`.
fn dispatch_client(config: &Config) -> Result<GitHub> {
    let repo = match config.registry.kind {
        RegistryKind::Github => config.registry.repository.as_deref(),
        RegistryKind::Local => None,
    };
    GitHub::from_env(repo, &config.registry.token_env)
}

/// For `evaluate` and `run`: resolves a registry production reference
/// without taking the registry's write lock. Returns notes for the user.
pub fn resolve_read_only(config: &mut Config) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    if matches!(config.production, Some(ModelRef::Registry { .. })) {
        let reg = registry::open(&config.registry, true)?;
        resolve_production(config, reg.as_ref(), &mut notes)?;
    }
    Ok(notes)
}
