//! Gates by digest over HTTP(S). A config names a gate another team
//! publishes as `uses: https://…/gate.wasm` with its `sha256:` beside it;
//! the component is downloaded once into the cache under that digest and
//! every later run reads it from there. The digest, not the transport, is
//! what makes it safe: bytes that hash otherwise are refused with both
//! digests named, and are never cached. With `--offline` (or
//! `MODELGATE_OFFLINE=1`) nothing is downloaded, and a gate missing from
//! the cache is an error that says so.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::GateError;

/// A gate larger than this is refused: an interpreter-carrying component
/// (Python, JavaScript) is about 20 MB.
pub const MAX_GATE_BYTES: u64 = 256 << 20;
const TIMEOUT: Duration = Duration::from_secs(60);

static OFFLINE: AtomicBool = AtomicBool::new(false);

/// Reads gates from the cache only (`--offline`).
pub fn set_offline(offline: bool) {
    OFFLINE.store(offline, Ordering::Relaxed);
}

pub(super) fn offline() -> bool {
    OFFLINE.load(Ordering::Relaxed)
        || std::env::var("MODELGATE_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn cache_path(sha256: &str) -> Option<PathBuf> {
    crate::cache::root().map(|d| d.join("gates-by-digest").join(format!("{sha256}.wasm")))
}

fn digest(bytes: &[u8]) -> String {
    crate::registry::sha256_hex(bytes)
}

/// The cached component with this sha256; a cache file that no longer
/// hashes right counts as absent.
pub(super) fn cached(sha256: &str) -> Option<Vec<u8>> {
    let bytes = std::fs::read(cache_path(sha256)?).ok()?;
    (digest(&bytes) == sha256).then_some(bytes)
}

/// Caches checked bytes under their sha256; a cache that cannot be written
/// is only a lost speed-up.
pub(super) fn store(sha256: &str, bytes: &[u8]) {
    if let Some(path) = cache_path(sha256) {
        let _ = path
            .parent()
            .map(std::fs::create_dir_all)
            .map(|_| crate::fs::write_atomic(&path, bytes));
    }
}

/// The component at `url` whose sha256 is `sha256`: from the cache, else
/// downloaded, checked and cached.
pub fn fetch(url: &str, sha256: &str) -> Result<Vec<u8>, GateError> {
    if let Some(bytes) = cached(sha256) {
        return Ok(bytes);
    }
    let cached = cache_path(sha256);
    if offline() {
        return Err(GateError::Fetch {
            url: url.to_string(),
            message: format!(
                "offline, and the gate with sha256 {sha256} is not in the cache ({}); run once online, or `modelgate gate lock` to fetch the pinned gates",
                cached.map_or("no cache directory".into(), |p| p.display().to_string())
            ),
        });
    }
    crate::progress::step(&format!("downloading gate {url}"));
    let bytes = download(url)?;
    let got = digest(&bytes);
    if got != sha256 {
        return Err(GateError::DigestMismatch {
            url: url.to_string(),
            got,
            want: sha256.to_string(),
        });
    }
    store(sha256, &bytes);
    Ok(bytes)
}

fn download(url: &str) -> Result<Vec<u8>, GateError> {
    let err = |message: String| GateError::Fetch {
        url: url.to_string(),
        message,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .get(url)
        .header(
            "User-Agent",
            concat!("modelgate/", env!("CARGO_PKG_VERSION")),
        )
        .call()
        .map_err(|e| err(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(err(format!("HTTP {status}")));
    }
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_GATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > MAX_GATE_BYTES {
        return Err(err(format!(
            "larger than the {} MiB a gate may be",
            MAX_GATE_BYTES >> 20
        )));
    }
    Ok(bytes)
}
