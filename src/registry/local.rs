//! The local registry: a directory, `.modelgate/registry/` by default.
//!
//! ```text
//! <root>/.lock                                  advisory lock (flock), one writer at a time
//! <root>/<model>/versions/v1.2.0/version.json   the record, written last
//! <root>/<model>/versions/v1.2.0/{lineage.json, evaluation.json, decision.json, report.md}
//! <root>/<model>/versions/v1.2.0/artifacts/<file>
//! <root>/<model>/production/000003.json         promotion 3; the highest is current
//! <root>/<model>/production/000003.deliveries.json
//! ```
//!
//! A version directory is assembled under a temporary name and renamed into
//! place, so it exists completely or not at all. A promotion file is linked
//! into place, which fails if the number is taken: two runs can never both
//! record promotion N.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{Bundle, Changes, Deliveries, Promotion, Registry, Version, VersionRecord};
use crate::error::{Error, Result};
use crate::fs::write_atomic;

pub struct LocalRegistry {
    root: PathBuf,
    changes: Changes,
    /// Held for the registry's lifetime when writing; released by the OS
    /// even if the process dies.
    _lock: Option<File>,
}

impl LocalRegistry {
    pub fn open(root: &Path, dry_run: bool) -> Result<LocalRegistry> {
        let lock = if dry_run {
            None
        } else {
            std::fs::create_dir_all(root)
                .map_err(|e| Error::io("cannot create registry", root, e))?;
            let path = root.join(".lock");
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io("cannot open the registry lock", &path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    crate::progress::note(&format!(
                        "waiting for another modelgate to release {}",
                        path.display()
                    ));
                    file.lock()
                        .map_err(|e| Error::io("cannot lock the registry", &path, e))?;
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::io("cannot lock the registry", &path, e));
                }
            }
            Some(file)
        };
        Ok(LocalRegistry {
            root: root.to_path_buf(),
            changes: Changes::new(dry_run),
            _lock: lock,
        })
    }

    fn model_dir(&self, model: &str) -> PathBuf {
        self.root.join(model)
    }

    fn version_dir(&self, model: &str, version: &str) -> PathBuf {
        self.model_dir(model).join("versions").join(version)
    }

    fn promotion_path(&self, model: &str, n: u64) -> PathBuf {
        self.model_dir(model)
            .join("production")
            .join(format!("{n:06}.json"))
    }

    fn err(&self, message: String) -> Error {
        Error::Registry {
            location: self.location(),
            message,
        }
    }

    fn read_json<T: serde::de::DeserializeOwned>(&self, path: &Path) -> Result<T> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::data(path, format!("corrupt registry file: {e}")))
    }
}

/// A directory's entries as (name, path); a missing directory is empty.
fn list(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot list", dir, e)),
    };
    entries
        .map(|entry| {
            let entry = entry.map_err(|e| Error::io("cannot list", dir, e))?;
            Ok((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ))
        })
        .collect()
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        what: "a registry record",
        source,
    })?;
    v.push(b'\n');
    Ok(v)
}

impl Registry for LocalRegistry {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn changes(&self) -> &Changes {
        &self.changes
    }

    fn versions(&self, model: &str) -> Result<Vec<VersionRecord>> {
        let mut out = Vec::new();
        for (name, path) in list(&self.model_dir(model).join("versions"))? {
            // Temporary directories of an interrupted publish start with `.`.
            if Version::parse(&name).is_some() {
                out.push(self.read_json::<VersionRecord>(&path.join("version.json"))?);
            }
        }
        out.sort_by_key(VersionRecord::parsed_version);
        Ok(out)
    }

    fn publish(&self, bundle: &Bundle) -> Result<VersionRecord> {
        let r = &bundle.record;
        let dir = self.version_dir(&r.model, &r.version);
        if dir.join("version.json").is_file() {
            let existing: VersionRecord = self.read_json(&dir.join("version.json"))?;
            let digests: Vec<_> = bundle.artifacts.iter().map(|a| a.0.clone()).collect();
            if !existing.same_artifacts(&digests) {
                return Err(self.err(format!(
                    "{} {} exists with other artifacts; versions are immutable, so choose another version",
                    r.model, r.version
                )));
            }
            return Ok(existing);
        }
        if self.changes.dry_run {
            self.changes.push(format!(
                "would create {} with {} and {}",
                dir.display(),
                bundle
                    .artifacts
                    .iter()
                    .map(|a| format!("artifacts/{} (sha256 {})", a.0.name, a.0.sha256))
                    .collect::<Vec<_>>()
                    .join(", "),
                bundle
                    .files
                    .iter()
                    .map(|f| f.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return Ok(r.clone());
        }
        let parent = dir.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|e| Error::io("cannot create", &parent, e))?;
        let tmp = parent.join(format!(".{}.tmp-{}", r.version, std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io("cannot clean", &tmp, e))?;
        }
        for (name, bytes) in &bundle.files {
            write_atomic(&tmp.join(name), bytes)?;
        }
        for (digest, src) in &bundle.artifacts {
            let dst = tmp.join("artifacts").join(&digest.name);
            std::fs::create_dir_all(dst.parent().unwrap_or(&tmp))
                .map_err(|e| Error::io("cannot create", &tmp, e))?;
            std::fs::copy(src, &dst).map_err(|e| Error::io("cannot copy artifact", src, e))?;
            let got = crate::data::file_sha256(&dst)?;
            if got != digest.sha256 {
                return Err(self.err(format!(
                    "artifact {} changed while being copied (sha256 {got}, expected {})",
                    src.display(),
                    digest.sha256
                )));
            }
        }
        write_atomic(&tmp.join("version.json"), &to_json(r)?)?;
        std::fs::rename(&tmp, &dir).map_err(|e| Error::io("cannot move into place", &dir, e))?;
        self.changes.push(format!("created {}", dir.display()));
        Ok(r.clone())
    }

    fn fetch(&self, record: &VersionRecord, name: &str) -> Result<Vec<u8>> {
        let dir = self.version_dir(&record.model, &record.version);
        let path = if record.artifacts.iter().any(|a| a.name == name) {
            dir.join("artifacts").join(name)
        } else {
            dir.join(name)
        };
        std::fs::read(&path).map_err(|e| Error::io("cannot read", &path, e))
    }

    fn promotions(&self, model: &str) -> Result<Vec<Promotion>> {
        let mut out = Vec::new();
        for (name, path) in list(&self.model_dir(model).join("production"))? {
            let is_record = name
                .strip_suffix(".json")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if is_record {
                out.push(self.read_json::<Promotion>(&path)?);
            }
        }
        out.sort_by_key(|p| p.number);
        Ok(out)
    }

    fn record_promotion(&self, p: &Promotion, _version: &VersionRecord) -> Result<()> {
        let path = self.promotion_path(&p.model, p.number);
        if self.changes.dry_run {
            self.changes.push(format!(
                "would record {} → {} {} in {}",
                p.tag,
                p.model,
                p.version,
                path.display()
            ));
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root);
        let tmp = dir.join(format!(".{}.tmp-{}", p.number, std::process::id()));
        write_atomic(&tmp, &to_json(p)?)?;
        // A hard link never replaces: if N exists, someone else promoted.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                self.changes.push(format!(
                    "moved {} to {} ({})",
                    PRODUCTION_LABEL, p.version, p.tag
                ));
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let existing: Promotion = self.read_json(&path)?;
                if existing.version == p.version {
                    Ok(())
                } else {
                    Err(self.err(format!(
                        "promotion {} already exists for {}; another run promoted concurrently. Re-run to compare against the new production",
                        p.number, existing.version
                    )))
                }
            }
            Err(e) => Err(Error::io("cannot record promotion", &path, e)),
        }
    }

    fn deliveries(&self, _version: &VersionRecord, p: &Promotion) -> Result<Option<Deliveries>> {
        let path = self
            .promotion_path(&p.model, p.number)
            .with_extension("deliveries.json");
        if path.is_file() {
            self.read_json(&path).map(Some)
        } else {
            Ok(None)
        }
    }

    fn record_deliveries(&self, version: &VersionRecord, d: &Deliveries) -> Result<()> {
        let path = self
            .promotion_path(&version.model, d.promotion)
            .with_extension("deliveries.json");
        if self.changes.dry_run {
            return Ok(());
        }
        write_atomic(&path, &to_json(d)?)
    }
}

const PRODUCTION_LABEL: &str = "production";
