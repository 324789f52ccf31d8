//! The model registry: immutable versions with their evidence, and a
//! `production` alias whose every move is kept as history.
//!
//! Two backends implement one trait with the same behaviour, so the
//! promotion logic and its tests are shared: [`local::LocalRegistry`] (a
//! directory) and [`github::GitHubRegistry`] (Releases plus tags in GTO's
//! formats: `<model>@v1.2.0` for versions, `<model>#production#<N>` for
//! promotions, the highest N being current).
//!
//! Writes are idempotent: each first reads what exists, so a re-run after a
//! failure at any step completes the work without duplicates.

pub mod github;
pub mod local;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::config::{Config, RegistryKind, RegistrySpec};
use crate::error::{Error, Result};
use crate::lineage::ArtifactDigest;

pub const VERSION_SCHEMA: &str = "modelgate.version/v1";
pub const PROMOTION_SCHEMA: &str = "modelgate.promotion/v1";
pub const DELIVERIES_SCHEMA: &str = "modelgate.deliveries/v1";
/// The only alias today; the name GTO uses for the stage.
pub const PRODUCTION: &str = "production";
/// The evidence files every version carries.
pub const EVIDENCE_FILES: [&str; 4] = [
    "lineage.json",
    "evaluation.json",
    "decision.json",
    "report.md",
];

/// A semantic version `vMAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    /// Parses `1.2.3` or `v1.2.3`.
    pub fn parse(text: &str) -> Option<Version> {
        let t = text.strip_prefix('v').unwrap_or(text);
        let mut parts = t.split('.');
        let mut next = || -> Option<u64> {
            let p = parts.next()?;
            (!p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == "0" || !p.starts_with('0')))
            .then(|| p.parse().ok())
            .flatten()
        };
        let v = Version {
            major: next()?,
            minor: next()?,
            patch: next()?,
        };
        parts.next().is_none().then_some(v)
    }

    pub fn bump(self, part: Bump) -> Version {
        match part {
            Bump::Major => Version {
                major: self.major + 1,
                minor: 0,
                patch: 0,
            },
            Bump::Minor => Version {
                minor: self.minor + 1,
                patch: 0,
                ..self
            },
            Bump::Patch => Version {
                patch: self.patch + 1,
                ..self
            },
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Which part of the version an automatic bump raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bump {
    Major,
    Minor,
    Patch,
}

/// The first version of a model.
pub const FIRST_VERSION: Version = Version {
    major: 1,
    minor: 0,
    patch: 0,
};

/// GTO's version tag.
pub fn version_tag(model: &str, v: Version) -> String {
    format!("{model}@{v}")
}

/// GTO's stage tag for the N-th promotion.
pub fn production_tag(model: &str, n: u64) -> String {
    format!("{model}#{PRODUCTION}#{n}")
}

/// An immutable model version (`modelgate.version/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub schema: String,
    pub model: String,
    pub version: String,
    pub tag: String,
    pub created_at: String,
    pub creator: String,
    /// The code commit the version is tagged at.
    pub commit: Option<String>,
    /// The deployable files; their digests are the version's identity.
    pub artifacts: Vec<ArtifactDigest>,
    /// `pass` or `fail` from the run that created it; `None` when registered
    /// without a run.
    pub decision: Option<String>,
    /// Where to see it (a release page), when the backend has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl VersionRecord {
    pub fn parsed_version(&self) -> Option<Version> {
        Version::parse(&self.version)
    }

    /// Same deployable bytes, whatever the file names.
    pub fn same_artifacts(&self, other: &[ArtifactDigest]) -> bool {
        let mut a: Vec<&str> = self.artifacts.iter().map(|d| d.sha256.as_str()).collect();
        let mut b: Vec<&str> = other.iter().map(|d| d.sha256.as_str()).collect();
        a.sort_unstable();
        b.sort_unstable();
        a == b
    }

    /// The artifact modelgate can score, if any.
    pub fn scorable(&self) -> Option<&ArtifactDigest> {
        self.artifacts.iter().find(|a| a.format.is_some())
    }
}

/// One move of the production alias (`modelgate.promotion/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    pub schema: String,
    pub model: String,
    /// 1 for the first promotion; the highest is current.
    pub number: u64,
    pub alias: String,
    pub version: String,
    /// The alias tag (`<model>#production#<N>`).
    pub tag: String,
    /// The version production pointed at before.
    pub previous: Option<String>,
    pub at: String,
    pub by: String,
    /// The decision that allowed it, in one line.
    pub decision: String,
}

/// What was delivered for a promotion, so a re-run sends only what failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deliveries {
    pub schema: String,
    pub promotion: u64,
    pub delivered: Vec<Delivery>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// `repository_dispatch` or the webhook URL.
    pub target: String,
    pub delivery_id: String,
    pub status: u16,
    pub at: String,
}

/// A version to publish: its record, its evidence and its artifact files.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub record: VersionRecord,
    /// Evidence files by name, in memory (they are small).
    pub files: Vec<(String, Vec<u8>)>,
    /// Artifact digests with the local files to upload.
    pub artifacts: Vec<(ArtifactDigest, PathBuf)>,
}

/// What a registry call changed, or would change in a dry run; printed so a
/// user sees each write.
#[derive(Debug, Default)]
pub struct Changes {
    pub dry_run: bool,
    items: Mutex<Vec<String>>,
}

impl Changes {
    pub fn new(dry_run: bool) -> Changes {
        Changes {
            dry_run,
            items: Mutex::new(Vec::new()),
        }
    }

    pub fn push(&self, item: impl Into<String>) {
        if let Ok(mut v) = self.items.lock() {
            v.push(item.into());
        }
    }

    pub fn take(&self) -> Vec<String> {
        self.items
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// A registry backend. Reads never change anything; writes are idempotent
/// and, with [`Changes::dry_run`], only described.
pub trait Registry {
    /// Where it is, for messages.
    fn location(&self) -> String;
    /// The `owner/repo` whose workflows attest its versions, for a GitHub
    /// registry.
    fn github_repository(&self) -> Option<&str> {
        None
    }
    fn changes(&self) -> &Changes;
    /// Every version of a model, oldest first.
    fn versions(&self, model: &str) -> Result<Vec<VersionRecord>>;
    /// Publishes a version with all its files, or completes a half-published
    /// one. An existing version with other artifact bytes is an error.
    fn publish(&self, bundle: &Bundle) -> Result<VersionRecord>;
    /// One file of a version (evidence or artifact), as stored.
    fn fetch(&self, record: &VersionRecord, name: &str) -> Result<Vec<u8>>;
    /// Every promotion, by number.
    fn promotions(&self, model: &str) -> Result<Vec<Promotion>>;
    /// Moves the alias: records promotion `p.number`, which must be new.
    fn record_promotion(&self, p: &Promotion, version: &VersionRecord) -> Result<()>;
    /// What was delivered for a promotion.
    fn deliveries(&self, version: &VersionRecord, p: &Promotion) -> Result<Option<Deliveries>>;
    fn record_deliveries(&self, version: &VersionRecord, d: &Deliveries) -> Result<()>;
}

/// Opens the configured backend.
pub fn open(spec: &RegistrySpec, dry_run: bool) -> Result<Box<dyn Registry>> {
    Ok(match spec.kind {
        RegistryKind::Local => Box::new(local::LocalRegistry::open(&spec.path, dry_run)?),
        RegistryKind::Github => Box::new(github::GitHubRegistry::open(spec, dry_run)?),
    })
}

/// The registry of a config file, or the local default beside `dir` when
/// there is no config.
pub fn spec_for(config: Option<&Config>, dir: &Path) -> RegistrySpec {
    config.map_or_else(|| RegistrySpec::local_default(dir), |c| c.registry.clone())
}

/// The current production promotion and its version.
pub fn production(reg: &dyn Registry, model: &str) -> Result<Option<(Promotion, VersionRecord)>> {
    let Some(p) = reg.promotions(model)?.into_iter().max_by_key(|p| p.number) else {
        return Ok(None);
    };
    let v = find_version(reg, model, &p.version)?.ok_or_else(|| Error::Registry {
        location: reg.location(),
        message: format!(
            "{} points at {} {}, which the registry does not have",
            p.tag, model, p.version
        ),
    })?;
    Ok(Some((p, v)))
}

pub fn find_version(
    reg: &dyn Registry,
    model: &str,
    version: &str,
) -> Result<Option<VersionRecord>> {
    let want = Version::parse(version);
    Ok(reg
        .versions(model)?
        .into_iter()
        .find(|v| v.parsed_version() == want && want.is_some()))
}

/// The next free version after the highest one.
pub fn next_version(existing: &[VersionRecord], bump: Bump) -> Version {
    existing
        .iter()
        .filter_map(VersionRecord::parsed_version)
        .max()
        .map_or(FIRST_VERSION, |v| v.bump(bump))
}

/// A local copy of a version's artifact, fetched once and kept in the cache
/// by sha256; the bytes are checked against the recorded digest every time.
pub fn cached_artifact(
    reg: &dyn Registry,
    record: &VersionRecord,
    a: &ArtifactDigest,
) -> Result<PathBuf> {
    let dir = crate::cache::root()
        .unwrap_or_else(std::env::temp_dir)
        .join("artifacts")
        .join(&a.sha256);
    let path = dir.join(&a.name);
    if path.is_file() && crate::data::file_sha256(&path)? == a.sha256 {
        return Ok(path);
    }
    let bytes = reg.fetch(record, &a.name)?;
    let got = sha256_hex(&bytes);
    if got != a.sha256 {
        return Err(Error::Registry {
            location: reg.location(),
            message: format!(
                "{} {} artifact {}: sha256 is {got}, the version records {}; refusing to score it",
                record.model, record.version, a.name, a.sha256
            ),
        });
    }
    crate::fs::write_atomic(&path, &bytes)?;
    Ok(path)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A delivery id that is the same on every re-run of one promotion, so
/// receivers can drop duplicates.
pub fn delivery_id(p: &Promotion, target: &str) -> String {
    let h = sha256_hex(format!("{}\n{}\n{}", p.tag, p.version, target).as_bytes());
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_order_and_bump() {
        let v = Version::parse("v1.2.3").unwrap();
        assert_eq!(v.to_string(), "v1.2.3");
        assert_eq!(Version::parse("1.2.3"), Some(v));
        for bad in ["1.2", "v1.2.3.4", "01.2.3", "a.b.c", "", "v1..3"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
        assert!(Version::parse("1.10.0") > Version::parse("1.9.9"));
        assert_eq!(v.bump(Bump::Minor).to_string(), "v1.3.0");
        assert_eq!(v.bump(Bump::Major).to_string(), "v2.0.0");
        assert_eq!(v.bump(Bump::Patch).to_string(), "v1.2.4");
    }

    #[test]
    fn tags_are_gto_compatible() {
        let v = Version::parse("0.3.1").unwrap();
        assert_eq!(version_tag("fraud", v), "fraud@v0.3.1");
        assert_eq!(production_tag("fraud", 4), "fraud#production#4");
    }

    #[test]
    fn delivery_ids_are_stable_per_promotion_and_target() {
        let p = Promotion {
            schema: PROMOTION_SCHEMA.into(),
            model: "m".into(),
            number: 1,
            alias: PRODUCTION.into(),
            version: "v1.0.0".into(),
            tag: "m#production#1".into(),
            previous: None,
            at: String::new(),
            by: String::new(),
            decision: String::new(),
        };
        assert_eq!(delivery_id(&p, "a"), delivery_id(&p, "a"));
        assert_ne!(delivery_id(&p, "a"), delivery_id(&p, "b"));
        assert_eq!(delivery_id(&p, "a").len(), 36);
    }
}
