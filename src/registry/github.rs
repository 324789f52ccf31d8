//! The GitHub registry: a version is a release tagged `<model>@vX.Y.Z`
//! carrying the artifacts and evidence as assets; the N-th promotion is the
//! annotated tag `<model>#production#<N>` at the version's commit. These are
//! GTO's tag formats, so `gto show` and `gto history` read the same registry.
//!
//! Every step reads before it writes (release by tag, its assets and their
//! digests, the stage tags), so a re-run after any failure finishes the job
//! without duplicates. The alias tag is created only after every asset is
//! uploaded and verified.
//!
//! Releases are written draft first: created as a draft, every asset
//! uploaded and verified, then published. That is the only order that works
//! in a repository with immutable releases, where a published release's
//! tag and assets are locked, and it is as correct without them. A draft an
//! interrupted run left is found by listing releases (drafts are not served
//! by tag) and completed. What a promotion delivered is kept in the release
//! notes, the one part of an immutable release that stays editable.

use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Bundle, Changes, DELIVERIES_SCHEMA, Deliveries, PRODUCTION, Promotion, Registry, Version,
    VersionRecord, production_tag,
};
use crate::config::RegistrySpec;
use crate::error::{Error, Result};
use crate::github::{GitHub, Permission, encode_segment};

/// The first wait between upload attempts, doubled after each.
const UPLOAD_BACKOFF_MS: u64 = 250;

/// Marks the version record inside a release body.
const RECORD_MARKER: &str = "<!-- modelgate:version ";

/// Marks promotion N's deliveries inside a release body:
/// `<!-- modelgate:deliveries-N {json} -->`.
const DELIVERIES_MARKER: &str = "<!-- modelgate:deliveries-";

/// A release, with the fields the registry reads (GitHub's "Release"
/// object; see `repos/releases` in the REST description).
#[derive(Debug, Clone, Deserialize)]
struct Release {
    id: u64,
    tag_name: String,
    /// A URI template, `https://uploads.github.com/…/assets{?name,label}`.
    upload_url: String,
    /// Markdown; GitHub sends `null` for an empty body.
    body: Option<String>,
    html_url: Option<String>,
    /// Not yet published: invisible to readers, and its assets still open.
    #[serde(default)]
    draft: bool,
}

/// A release asset ("Release Asset").
#[derive(Debug, Clone, Deserialize)]
struct Asset {
    id: u64,
    name: String,
    state: AssetState,
    /// `sha256:<hex>`, sent since 2025 for new uploads; older assets lack it.
    #[serde(default)]
    digest: Option<String>,
}

/// `uploaded`, or anything else (`open`, `starter`): an upload left
/// half-made, to be deleted and redone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AssetState {
    Uploaded,
    #[serde(other)]
    Incomplete,
}

/// A git ref ("Git Reference").
#[derive(Debug, Deserialize)]
struct GitRef {
    #[serde(rename = "ref")]
    name: String,
    object: GitObject,
}

/// What a ref or tag points at.
#[derive(Debug, Deserialize)]
struct GitObject {
    sha: String,
    #[serde(rename = "type")]
    kind: String,
}

/// An annotated tag object ("Git Tag").
#[derive(Debug, Deserialize)]
struct GitTag {
    sha: String,
    message: String,
    object: GitObject,
}

impl Asset {
    fn is(&self, name: &str) -> bool {
        self.name == name && self.state == AssetState::Uploaded
    }
}

pub struct GitHubRegistry {
    gh: GitHub,
    changes: Changes,
}

impl GitHubRegistry {
    pub fn open(spec: &RegistrySpec, dry_run: bool) -> Result<GitHubRegistry> {
        Ok(GitHubRegistry {
            gh: GitHub::from_env(spec.repository.as_deref(), &spec.token_env)?,
            changes: Changes::new(dry_run),
        })
    }

    pub fn client(&self) -> &GitHub {
        &self.gh
    }

    fn err(&self, message: String) -> Error {
        Error::Registry {
            location: self.location(),
            message,
        }
    }

    /// Records a write; in a dry run, describes it and reports `false`.
    fn write(&self, method: &Method, path: &str, body: Option<&Value>) -> bool {
        let desc = match body {
            Some(b) => format!("{method} {path} {}", abbreviate(b)),
            None => format!("{method} {path}"),
        };
        if self.changes.dry_run {
            self.changes.push(format!("would call {desc}"));
            false
        } else {
            self.changes.push(desc);
            true
        }
    }

    fn release_by_tag(&self, tag: &str) -> Result<Option<Release>> {
        let path = self
            .gh
            .repo_path(&format!("/releases/tags/{}", encode_segment(tag)));
        let r = self
            .gh
            .request(Method::GET, &path, None, Permission::ContentsRead)?;
        match r.status {
            200 => r.json("release").map(Some),
            404 => Ok(None),
            _ => Err(self
                .gh
                .status_error(&Method::GET, &path, &r, Permission::ContentsRead)),
        }
    }

    /// A draft of this version that an interrupted run left: drafts are not
    /// served by tag, so the releases are listed. Another run's draft under
    /// the same tag (other artifacts) is not ours to complete.
    fn own_draft(&self, bundle: &Bundle) -> Result<Option<Release>> {
        let digests: Vec<_> = bundle.artifacts.iter().map(|a| a.0.clone()).collect();
        Ok(self.releases()?.into_iter().find(|rel| {
            rel.draft
                && rel.tag_name == bundle.record.tag
                && Self::record_from_release(rel).is_some_and(|v| v.same_artifacts(&digests))
        }))
    }

    /// Every release of the repository, drafts included, page by page.
    fn releases(&self) -> Result<Vec<Release>> {
        let mut out = Vec::new();
        for page in 1.. {
            let path = self
                .gh
                .repo_path(&format!("/releases?per_page=100&page={page}"));
            let r = self
                .gh
                .expect(Method::GET, &path, None, Permission::ContentsRead)?;
            let releases: Vec<Release> = r.json("releases")?;
            let last = releases.len() < 100;
            out.extend(releases);
            if last {
                break;
            }
        }
        Ok(out)
    }

    /// Every asset of the bundle is on the release, uploaded, and each
    /// artifact's bytes are the ones its record names: checked before
    /// anything points at the version, and before adopting another run's.
    fn verify_assets(&self, release: &Release, bundle: &Bundle) -> Result<()> {
        let tag = &bundle.record.tag;
        let assets = self.assets(release.id)?;
        for (a, _) in &bundle.artifacts {
            let asset = assets
                .iter()
                .find(|x| x.is(&a.name))
                .ok_or_else(|| self.err(format!("asset {} of {tag} is missing", a.name)))?;
            let digest = match asset.digest.as_deref() {
                Some(d) => d.trim_start_matches("sha256:").to_string(),
                None => super::sha256_hex(&self.download(asset)?),
            };
            if digest != a.sha256 {
                // Never advise deleting it: a published asset may be what
                // production runs.
                return Err(self.err(format!(
                    "asset {} of {tag} has sha256 {digest}, but its record says {}: the release holds other bytes than the version it names, so nothing points at it; register the candidate as a new version",
                    a.name, a.sha256
                )));
            }
        }
        for (name, _) in &bundle.files {
            if !assets.iter().any(|x| x.is(name)) {
                return Err(self.err(format!("asset {name} of {tag} is missing")));
            }
        }
        Ok(())
    }

    /// Publishes a draft whose assets are all verified. When another run
    /// published this tag first, its release must be this version; our
    /// draft, never published, is then deleted.
    fn publish_draft(&self, draft: &Release, bundle: &Bundle) -> Result<Release> {
        let path = self.gh.repo_path(&format!("/releases/{}", draft.id));
        let body = json!({"draft": false, "make_latest": "false"});
        self.write(&Method::PATCH, &path, Some(&body));
        let r = self
            .gh
            .request(Method::PATCH, &path, Some(&body), Permission::ContentsWrite)?;
        if r.ok() {
            return r.json("release");
        }
        if !r.already_exists() {
            return Err(self
                .gh
                .status_error(&Method::PATCH, &path, &r, Permission::ContentsWrite));
        }
        let published = self.release_by_tag(&bundle.record.tag)?.ok_or_else(|| {
            self.err(format!(
                "release {} exists but cannot be read",
                bundle.record.tag
            ))
        })?;
        self.same_version(&published, bundle)?;
        self.verify_assets(&published, bundle)?;
        self.write(&Method::DELETE, &path, None);
        self.gh
            .expect(Method::DELETE, &path, None, Permission::ContentsWrite)?;
        Ok(published)
    }

    fn assets(&self, release_id: u64) -> Result<Vec<Asset>> {
        let path = self
            .gh
            .repo_path(&format!("/releases/{release_id}/assets?per_page=100"));
        let r = self
            .gh
            .expect(Method::GET, &path, None, Permission::ContentsRead)?;
        r.json("assets")
    }

    /// Creates the annotated tag `tag` at `commit` unless the ref exists.
    fn ensure_tag(&self, tag: &str, commit: &str, message: &str) -> Result<()> {
        let ref_path = self
            .gh
            .repo_path(&format!("/git/ref/tags/{}", encode_segment(tag)));
        let r = self
            .gh
            .request(Method::GET, &ref_path, None, Permission::ContentsRead)?;
        if r.ok() {
            return Ok(());
        }
        let tags_path = self.gh.repo_path("/git/tags");
        let body = json!({"tag": tag, "message": message, "object": commit, "type": "commit"});
        if !self.write(&Method::POST, &tags_path, Some(&body)) {
            self.write(
                &Method::POST,
                &self.gh.repo_path("/git/refs"),
                Some(&json!({"ref": format!("refs/tags/{tag}"), "sha": "<the new tag object>"})),
            );
            return Ok(());
        }
        let object = self.gh.expect(
            Method::POST,
            &tags_path,
            Some(&body),
            Permission::ContentsWrite,
        )?;
        let sha = object.json::<GitTag>("tag object")?.sha;
        let refs_path = self.gh.repo_path("/git/refs");
        let body = json!({"ref": format!("refs/tags/{tag}"), "sha": sha});
        self.write(&Method::POST, &refs_path, Some(&body));
        let r = self.gh.request(
            Method::POST,
            &refs_path,
            Some(&body),
            Permission::ContentsWrite,
        )?;
        if r.ok() || r.status == 422 && r.message().contains("already exists") {
            Ok(())
        } else {
            Err(self
                .gh
                .status_error(&Method::POST, &refs_path, &r, Permission::ContentsWrite))
        }
    }

    /// Uploads one asset, deleting a half-made (`starter`) one first, and
    /// trying up to three times.
    fn upload(&self, release: &Release, name: &str, bytes: &[u8]) -> Result<()> {
        let upload_url = release.upload_url.split('{').next().unwrap_or_default();
        let url = format!("{upload_url}?name={}", encode_segment(name));
        let mut last = String::new();
        for attempt in 0..3u32 {
            if let Some(a) = self
                .assets(release.id)?
                .into_iter()
                .find(|a| a.name == name)
            {
                if a.state == AssetState::Uploaded {
                    return Ok(());
                }
                let path = self.gh.repo_path(&format!("/releases/assets/{}", a.id));
                self.write(&Method::DELETE, &path, None);
                self.gh
                    .expect(Method::DELETE, &path, None, Permission::ContentsWrite)?;
            }
            self.changes
                .push(format!("POST {url} ({} bytes)", bytes.len()));
            match self.gh.upload(&url, bytes.to_vec()) {
                Ok(r) if r.ok() || r.already_exists() => return Ok(()),
                // A server error or timeout may leave a `starter` asset:
                // clean up and retry. Anything else will not get better.
                Ok(r) if r.status >= 500 || r.status == 429 => last = r.message(),
                Ok(r) => {
                    return Err(self.gh.status_error(
                        &Method::POST,
                        &url,
                        &r,
                        Permission::ContentsWrite,
                    ));
                }
                Err(
                    e @ Error::GitHub {
                        source: Some(_), ..
                    },
                ) => last = format!("{e:#}"),
                Err(e) => return Err(e),
            }
            if attempt < 2 {
                // Back off exponentially, as the API's own retries do.
                let wait = std::time::Duration::from_millis(UPLOAD_BACKOFF_MS << attempt);
                crate::progress::note(&format!(
                    "upload of {name} failed ({last}); cleaning up and retrying in {:.1}s",
                    wait.as_secs_f64()
                ));
                std::thread::sleep(wait);
            }
        }
        Err(self.err(format!("cannot upload {name}: {last}")))
    }

    /// Whether an existing release is this version: made by modelgate, with
    /// the same artifacts. Another run's release under the same tag is an
    /// error that never suggests deleting what it published.
    fn same_version(&self, release: &Release, bundle: &Bundle) -> Result<()> {
        let tag = &bundle.record.tag;
        let existing = Self::record_from_release(release).ok_or_else(|| {
            self.err(format!(
                "release {tag} exists but was not made by modelgate (no version record in its body)"
            ))
        })?;
        let digests: Vec<_> = bundle.artifacts.iter().map(|a| a.0.clone()).collect();
        if existing.same_artifacts(&digests) {
            return Ok(());
        }
        Err(self.err(format!(
            "{tag} already exists with other artifacts (another run may have published it just now); versions are immutable: re-run to take the next free version, or pass another version"
        )))
    }

    /// Where promotion `n`'s deliveries block sits in a release body.
    fn deliveries_span(body: &str, n: u64) -> Option<(usize, usize)> {
        let start = body.find(&format!("{DELIVERIES_MARKER}{n} "))?;
        let end = body[start..].find(" -->")? + start + " -->".len();
        Some((start, end))
    }

    /// Promotion `n`'s deliveries JSON in a release's notes.
    fn deliveries_in(release: &Release, n: u64) -> Option<&str> {
        let body = release.body.as_deref()?;
        let (start, end) = Self::deliveries_span(body, n)?;
        let json_start = start + format!("{DELIVERIES_MARKER}{n} ").len();
        Some(&body[json_start..end - " -->".len()])
    }

    fn record_from_release(release: &Release) -> Option<VersionRecord> {
        let body = release.body.as_deref()?;
        let start = body.find(RECORD_MARKER)? + RECORD_MARKER.len();
        let end = body[start..].find(" -->")? + start;
        let mut record: VersionRecord = serde_json::from_str(&body[start..end]).ok()?;
        record.url = release.html_url.clone();
        Some(record)
    }

    fn release_body(record: &VersionRecord) -> Result<String> {
        let json = serde_json::to_string(record).map_err(|source| Error::Json {
            what: "the version record",
            source,
        })?;
        let artifacts: Vec<String> = record
            .artifacts
            .iter()
            .map(|a| format!("- `{}` sha256 `{}` ({} bytes)", a.name, a.sha256, a.size))
            .collect();
        Ok(format!(
            "Model **{}** {}, registered by modelgate.\n\nDecision: **{}**. The evidence is attached: `report.md`, `decision.json`, `evaluation.json`, `lineage.json`.\n\nArtifacts:\n{}\n\n{RECORD_MARKER}{} -->\n",
            record.model,
            record.version,
            record.decision.as_deref().unwrap_or("not gated"),
            artifacts.join("\n"),
            // `--` cannot appear in the JSON of a record, but be safe.
            json.replace("-->", "--\\u003e")
        ))
    }

    fn tag(&self, sha: &str) -> Result<Option<GitTag>> {
        let path = self.gh.repo_path(&format!("/git/tags/{sha}"));
        let r = self
            .gh
            .request(Method::GET, &path, None, Permission::ContentsRead)?;
        if r.status == 404 {
            return Ok(None);
        }
        if !r.ok() {
            return Err(self
                .gh
                .status_error(&Method::GET, &path, &r, Permission::ContentsRead));
        }
        r.json("tag").map(Some)
    }

    fn download(&self, asset: &Asset) -> Result<Vec<u8>> {
        let path = self.gh.repo_path(&format!("/releases/assets/{}", asset.id));
        let r = self.gh.request_octet(&path)?;
        let r = if (300..400).contains(&r.status) {
            let location = r
                .headers
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_string();
            self.gh.request_octet(&location)?
        } else {
            r
        };
        if !r.ok() {
            return Err(self
                .gh
                .status_error(&Method::GET, &path, &r, Permission::ContentsRead));
        }
        Ok(r.body.to_vec())
    }
}

fn abbreviate(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s
    }
}

impl Registry for GitHubRegistry {
    fn location(&self) -> String {
        format!("github:{}", self.gh.repository)
    }

    fn github_repository(&self) -> Option<&str> {
        Some(&self.gh.repository)
    }

    fn changes(&self) -> &Changes {
        &self.changes
    }

    fn versions(&self, model: &str) -> Result<Vec<VersionRecord>> {
        let prefix = format!("{model}@");
        let mut out = Vec::new();
        for rel in self.releases()? {
            // A draft is a version being written, not yet a version.
            if rel.draft {
                continue;
            }
            let Some(v) = rel.tag_name.strip_prefix(&prefix) else {
                continue;
            };
            if Version::parse(v).is_some()
                && let Some(rec) = Self::record_from_release(&rel)
            {
                out.push(rec);
            }
        }
        out.sort_by_key(VersionRecord::parsed_version);
        Ok(out)
    }

    fn publish(&self, bundle: &Bundle) -> Result<VersionRecord> {
        let record = &bundle.record;
        let commit = record.commit.clone().ok_or_else(|| {
            self.err(
                "a GitHub version is tagged at a commit: run inside a git checkout or set GITHUB_SHA"
                    .into(),
            )
        })?;
        let release = match self.release_by_tag(&record.tag)? {
            Some(rel) => {
                self.same_version(&rel, bundle)?;
                rel
            }
            None => match self.own_draft(bundle)? {
                Some(draft) => draft,
                None => {
                    self.ensure_tag(
                        &record.tag,
                        &commit,
                        &format!("Registering {} version {}", record.model, record.version),
                    )?;
                    let path = self.gh.repo_path("/releases");
                    let body = json!({
                        "tag_name": record.tag,
                        "name": format!("{} {}", record.model, record.version),
                        "body": Self::release_body(record)?,
                        // Published only once every asset is verified.
                        "draft": true,
                        "prerelease": false,
                        "make_latest": "false",
                    });
                    if !self.write(&Method::POST, &path, Some(&body)) {
                        for (name, bytes) in &bundle.files {
                            self.changes.push(format!(
                                "would upload release asset {name} ({} bytes)",
                                bytes.len()
                            ));
                        }
                        for (a, _) in &bundle.artifacts {
                            self.changes.push(format!(
                                "would upload release asset {} ({} bytes, sha256 {})",
                                a.name, a.size, a.sha256
                            ));
                        }
                        return Ok(record.clone());
                    }
                    let r = self.gh.request(
                        Method::POST,
                        &path,
                        Some(&body),
                        Permission::ContentsWrite,
                    )?;
                    if r.ok() {
                        r.json("release")?
                    } else if r.already_exists() {
                        // Made since we looked: by an earlier attempt of ours,
                        // or by another run, whose artifacts may differ.
                        let rel = self.release_by_tag(&record.tag)?.ok_or_else(|| {
                            self.err(format!("release {} exists but cannot be read", record.tag))
                        })?;
                        self.same_version(&rel, bundle)?;
                        rel
                    } else {
                        return Err(self.gh.status_error(
                            &Method::POST,
                            &path,
                            &r,
                            Permission::ContentsWrite,
                        ));
                    }
                }
            },
        };
        if self.changes.dry_run {
            return Ok(Self::record_from_release(&release).unwrap_or_else(|| record.clone()));
        }
        for (name, bytes) in &bundle.files {
            self.upload(&release, name, bytes)?;
        }
        for (a, path) in &bundle.artifacts {
            let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
            self.upload(&release, &a.name, &bytes)?;
        }
        // Verify before anything points at this version.
        self.verify_assets(&release, bundle)?;
        let release = if release.draft {
            self.publish_draft(&release, bundle)?
        } else {
            release
        };
        Ok(Self::record_from_release(&release).unwrap_or_else(|| record.clone()))
    }

    fn fetch(&self, record: &VersionRecord, name: &str) -> Result<Vec<u8>> {
        let release = self
            .release_by_tag(&record.tag)?
            .ok_or_else(|| self.err(format!("release {} not found", record.tag)))?;
        let asset = self
            .assets(release.id)?
            .into_iter()
            .find(|a| a.is(name))
            .ok_or_else(|| self.err(format!("release {} has no asset {name}", record.tag)))?;
        self.download(&asset)
    }

    fn promotions(&self, model: &str) -> Result<Vec<Promotion>> {
        let prefix = format!("{model}#{PRODUCTION}#");
        let path = self.gh.repo_path(&format!(
            "/git/matching-refs/tags/{}",
            encode_segment(&prefix)
        ));
        let r = self
            .gh
            .expect(Method::GET, &path, None, Permission::ContentsRead)?;
        let refs: Vec<GitRef> = r.json("refs")?;
        let mut out = Vec::new();
        for rf in refs {
            let Some(n) = rf
                .name
                .strip_prefix("refs/tags/")
                .and_then(|t| t.strip_prefix(&prefix))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            let object = &rf.object;
            let tag = if object.kind == "tag" {
                self.tag(&object.sha)?
            } else {
                None
            };
            let parsed = tag.as_ref().and_then(|t| {
                let start = t.message.find('{')?;
                serde_json::from_str::<Promotion>(&t.message[start..]).ok()
            });
            match parsed {
                Some(p) => out.push(p),
                None => {
                    // A stage tag made by another tool (e.g. `gto promote`):
                    // find the version registered at the same commit.
                    let commit = match (&tag, object.kind.as_str()) {
                        (Some(t), _) => t.object.sha.clone(),
                        (None, "tag") => {
                            return Err(self.err(format!(
                                "{} points at tag object {}, which cannot be read",
                                rf.name, object.sha
                            )));
                        }
                        (None, _) => object.sha.clone(),
                    };
                    let version = self
                        .versions(model)?
                        .into_iter()
                        .rev()
                        .find(|v| v.commit.as_deref() == Some(commit.as_str()));
                    if let Some(v) = version {
                        out.push(Promotion {
                            schema: super::PROMOTION_SCHEMA.into(),
                            model: model.into(),
                            number: n,
                            alias: PRODUCTION.into(),
                            version: v.version,
                            tag: format!("{prefix}{n}"),
                            previous: None,
                            at: String::new(),
                            by: "(not recorded)".into(),
                            decision: "(made outside modelgate)".into(),
                        });
                    }
                }
            }
        }
        out.sort_by_key(|p| p.number);
        Ok(out)
    }

    fn record_promotion(&self, p: &Promotion, version: &VersionRecord) -> Result<()> {
        let commit = version
            .commit
            .clone()
            .ok_or_else(|| self.err(format!("{} has no commit to tag", version.tag)))?;
        let json = serde_json::to_string_pretty(p).map_err(|source| Error::Json {
            what: "the promotion",
            source,
        })?;
        let message = format!(
            "Promoting {} {} to {PRODUCTION}\n\n{json}\n",
            p.model, p.version
        );
        let tag = production_tag(&p.model, p.number);
        // Someone else may hold number N already; ensure_tag keeps an
        // existing ref, so check which version it names afterwards.
        self.ensure_tag(&tag, &commit, &message)?;
        if self.changes.dry_run {
            return Ok(());
        }
        let current = self
            .promotions(&p.model)?
            .into_iter()
            .find(|x| x.number == p.number);
        match current {
            Some(c) if c.version != p.version => Err(self.err(format!(
                "{tag} already names {}; another run promoted concurrently. Re-run to compare against the new production",
                c.version
            ))),
            _ => Ok(()),
        }
    }

    fn deliveries(&self, version: &VersionRecord, p: &Promotion) -> Result<Option<Deliveries>> {
        let Some(release) = self.release_by_tag(&version.tag)? else {
            return Ok(None);
        };
        if let Some(d) = Self::deliveries_in(&release, p.number) {
            return serde_json::from_str(d).map(Some).map_err(|e| {
                self.err(format!(
                    "the deliveries of promotion {} in {} are corrupt: {e}",
                    p.number, version.tag
                ))
            });
        }
        // Before 0.2 they were an asset, which immutable releases forbid.
        let name = format!("deliveries-{}.json", p.number);
        let Some(asset) = self.assets(release.id)?.into_iter().find(|a| a.is(&name)) else {
            return Ok(None);
        };
        let bytes = self.download(&asset)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| self.err(format!("{name} of {} is corrupt: {e}", version.tag)))
    }

    /// Kept in the release notes: the only part of an immutable release
    /// that stays editable. Promotion N's block replaces an earlier one.
    fn record_deliveries(&self, version: &VersionRecord, d: &Deliveries) -> Result<()> {
        if self.changes.dry_run {
            return Ok(());
        }
        let release = self
            .release_by_tag(&version.tag)?
            .ok_or_else(|| self.err(format!("release {} not found", version.tag)))?;
        let mut d = d.clone();
        d.schema = DELIVERIES_SCHEMA.into();
        let json = serde_json::to_string(&d).map_err(|source| Error::Json {
            what: "the deliveries",
            source,
        })?;
        let block = format!(
            "{DELIVERIES_MARKER}{} {} -->",
            d.promotion,
            json.replace("-->", "--\\u003e")
        );
        let mut body = release.body.clone().unwrap_or_default();
        match Self::deliveries_span(&body, d.promotion) {
            Some((start, end)) => body.replace_range(start..end, &block),
            None => {
                body.push('\n');
                body.push_str(&block);
                body.push('\n');
            }
        }
        let path = self.gh.repo_path(&format!("/releases/{}", release.id));
        let patch = json!({"body": body});
        self.write(&Method::PATCH, &path, Some(&patch));
        self.gh.expect(
            Method::PATCH,
            &path,
            Some(&patch),
            Permission::ContentsWrite,
        )?;
        Ok(())
    }
}
