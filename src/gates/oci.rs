//! Gates from OCI registries, as Kubewarden distributes its policies and
//! `wkg` publishes components: `uses: oci://ghcr.io/org/gates/pii@sha256:…`.
//! A run pulls only by manifest digest; `modelgate gate lock` resolves a tag
//! to one. The manifest's bytes must hash to the pinned digest and the
//! component layer's bytes to the digest the manifest names, so a registry
//! cannot substitute either. Layers are cached by digest beside the gates by
//! URL, with the manifest-to-layer link, so a locked config runs offline.
//!
//! The protocol is oci-client's (the ORAS project's client, which also
//! backs wkg); the media types are the CNCF Wasm OCI artifact's, which wkg
//! writes, and the older wasm-to-oci layer type is accepted on pull.

use std::path::PathBuf;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::GateError;
use super::fetch::MAX_GATE_BYTES;

/// The CNCF Wasm OCI artifact's types (what `wkg oci push` writes).
pub const WASM_LAYER: &str = "application/wasm";
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// The wasm-to-oci layer type, still found in registries.
const WASM_LAYER_V1: &str = "application/vnd.wasm.content.layer.v1+wasm";

/// A parsed `oci://` reference.
pub fn parse(uses: &str) -> Result<Reference, GateError> {
    let text = uses.strip_prefix("oci://").unwrap_or(uses);
    text.parse::<Reference>().map_err(|e| GateError::Fetch {
        url: uses.to_string(),
        message: format!("not an OCI reference: {e}"),
    })
}

fn client(reference: &Reference) -> Client {
    // Registries on the loopback interface speak plain HTTP, as Docker
    // assumes for localhost (a local mirror, the tests' registry).
    let host = reference.resolve_registry().to_string();
    let loopback = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|h| host == *h || host.starts_with(&format!("{h}:")));
    Client::new(ClientConfig {
        protocol: if loopback {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        ..Default::default()
    })
}

/// `MODELGATE_OCI_USERNAME` and `MODELGATE_OCI_PASSWORD` (for ghcr.io in a
/// workflow: the actor and `GITHUB_TOKEN`), else anonymous.
fn auth() -> RegistryAuth {
    match (
        std::env::var("MODELGATE_OCI_USERNAME"),
        std::env::var("MODELGATE_OCI_PASSWORD"),
    ) {
        (Ok(u), Ok(p)) if !u.is_empty() && !p.is_empty() => RegistryAuth::Basic(u, p),
        _ => RegistryAuth::Anonymous,
    }
}

fn runtime(uses: &str) -> Result<tokio::runtime::Runtime, GateError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| GateError::Fetch {
            url: uses.to_string(),
            message: format!("cannot start the network runtime: {e}"),
        })
}

fn link_path(manifest_digest: &str) -> Option<PathBuf> {
    crate::cache::root().map(|d| {
        d.join("gates-by-digest")
            .join(format!("{}.layer", manifest_digest.replace(':', "-")))
    })
}

fn fail(uses: &str, message: impl Into<String>) -> GateError {
    GateError::Fetch {
        url: uses.to_string(),
        message: message.into(),
    }
}

/// The component of a pinned `oci://…@sha256:…` gate.
pub fn pull(uses: &str) -> Result<Vec<u8>, GateError> {
    let reference = parse(uses)?;
    let Some(pinned) = reference.digest().map(str::to_string) else {
        return Err(fail(
            uses,
            "not pinned by digest; `modelgate gate lock` resolves the tag to one",
        ));
    };
    // The cached link names the layer; the layer file is checked by fetch.
    if let Some(link) = link_path(&pinned)
        && let Ok(layer) = std::fs::read_to_string(&link)
        && let Some(bytes) = super::fetch::cached(layer.trim())
    {
        return Ok(bytes);
    }
    if super::fetch::offline() {
        return Err(fail(
            uses,
            "offline, and this gate is not in the cache; run `modelgate gate lock` online first",
        ));
    }
    crate::progress::step(&format!("pulling gate {uses}"));
    let client = client(&reference);
    let auth = auth();
    let rt = runtime(uses)?;
    let (layer, bytes) = rt.block_on(async {
        let (raw, _) = client
            .pull_manifest_raw(
                &reference,
                &auth,
                &[OCI_IMAGE_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE],
            )
            .await
            .map_err(|e| fail(uses, format!("cannot pull the manifest: {e}")))?;
        let got = format!("sha256:{}", crate::registry::sha256_hex(&raw));
        if got != pinned {
            return Err(GateError::DigestMismatch {
                url: uses.to_string(),
                got,
                want: pinned.clone(),
            });
        }
        let manifest: OciImageManifest = serde_json::from_slice(&raw).map_err(|e| {
            fail(
                uses,
                format!("the manifest is not an OCI image manifest: {e}"),
            )
        })?;
        let layers: Vec<_> = manifest
            .layers
            .iter()
            .filter(|l| l.media_type == WASM_LAYER || l.media_type == WASM_LAYER_V1)
            .collect();
        let [layer] = layers.as_slice() else {
            return Err(fail(
                uses,
                format!(
                    "expected one WebAssembly layer ({WASM_LAYER}), found {} among {} layer(s)",
                    layers.len(),
                    manifest.layers.len()
                ),
            ));
        };
        if layer.size < 0 || layer.size as u64 > MAX_GATE_BYTES {
            return Err(fail(
                uses,
                format!("the layer's size {} is not allowed", layer.size),
            ));
        }
        let mut bytes = Vec::new();
        client
            .pull_blob(&reference, *layer, &mut bytes)
            .await
            .map_err(|e| fail(uses, format!("cannot pull the component layer: {e}")))?;
        Ok((layer.digest.clone(), bytes))
    })?;
    let got = format!("sha256:{}", crate::registry::sha256_hex(&bytes));
    if got != layer {
        return Err(GateError::DigestMismatch {
            url: format!("{uses} (component layer)"),
            got,
            want: layer,
        });
    }
    let sha = layer.trim_start_matches("sha256:");
    super::fetch::store(sha, &bytes);
    if let Some(link) = link_path(&pinned) {
        let _ = crate::fs::write_atomic(&link, sha.as_bytes());
    }
    Ok(bytes)
}

/// The manifest digest a tag points at now.
pub fn resolve(uses: &str) -> Result<String, GateError> {
    let reference = parse(uses)?;
    let client = client(&reference);
    let auth = auth();
    runtime(uses)?
        .block_on(client.fetch_manifest_digest(&reference, &auth))
        .map_err(|e| fail(uses, format!("cannot resolve the tag: {e}")))
}

/// Pushes a component as a CNCF Wasm OCI artifact; returns the manifest
/// digest to pin.
pub fn push(uses: &str, component: &[u8], imports: &[String]) -> Result<String, GateError> {
    let reference = parse(uses)?;
    if reference.digest().is_some() {
        return Err(fail(uses, "push to a tag, not a digest"));
    }
    let layer_digest = format!("sha256:{}", crate::registry::sha256_hex(component));
    // The config wkg writes: what the component is, for registries' UIs.
    let config = serde_json::json!({
        "created": crate::lineage::now(),
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest],
        "component": {"exports": ["metadata", "evaluate"], "imports": imports},
    });
    let client = client(&reference);
    let auth = auth();
    let rt = runtime(uses)?;
    rt.block_on(async {
        client
            .push(
                &reference,
                &[ImageLayer::new(
                    component.to_vec(),
                    WASM_LAYER.to_string(),
                    None,
                )],
                Config::new(
                    config.to_string().into_bytes(),
                    WASM_CONFIG.to_string(),
                    None,
                ),
                &auth,
                None,
            )
            .await
            .map_err(|e| fail(uses, format!("cannot push: {e}")))?;
        client
            .fetch_manifest_digest(&reference, &auth)
            .await
            .map_err(|e| {
                fail(
                    uses,
                    format!("pushed, but cannot read the digest back: {e}"),
                )
            })
    })
}
