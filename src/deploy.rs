//! Deploy triggers, fired only after the production alias has moved: a
//! GitHub `repository_dispatch` event and signed webhooks.
//!
//! Webhooks are signed by Standard Webhooks 1.0, so a receiver in any
//! language verifies them with an existing library: `webhook-id` (the same
//! on every retry and re-run of one promotion, for deduplication),
//! `webhook-timestamp` (Unix seconds, for the replay window) and
//! `webhook-signature: v1,<base64 HMAC-SHA256 over id.timestamp.body>`,
//! keyed by the secret's bytes (`whsec_` + base64). `legacy_headers: true`
//! also sends the pre-0.2 `X-Modelgate-*` headers, whose signature is
//! `sha256=` + hex(HMAC-SHA256(secret, timestamp + "." + body)).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use http::Method;
use serde_json::{Value, json};

use crate::config::WebhookSpec;
use crate::error::{Error, Result};
use crate::github::{GitHub, Permission};
use crate::registry::{Delivery, Promotion, VersionRecord, delivery_id};

/// GitHub's limits on `client_payload`.
const MAX_PAYLOAD_KEYS: usize = 10;
const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Webhook attempts (first included) on 5xx, 429 and network errors.
const WEBHOOK_ATTEMPTS: u32 = 5;
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest `Retry-After` a webhook may ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The facts of a promotion every trigger carries.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub promotion: &'a Promotion,
    pub version: &'a VersionRecord,
    /// `pass` plus the decision's one-line summary.
    pub decision: Value,
    pub registry: String,
}

/// The `repository_dispatch` `client_payload`: at most 10 top-level keys.
pub fn client_payload(e: &Event) -> Value {
    let artifact = e.version.scorable().or(e.version.artifacts.first());
    let artifact_url = match (&e.version.url, artifact) {
        (Some(url), Some(a)) => Some(format!(
            "{}/{}",
            url.replace("/releases/tag/", "/releases/download/"),
            a.name
        )),
        _ => None,
    };
    json!({
        "model": e.promotion.model,
        "version": e.promotion.version,
        "tag": e.version.tag,
        "release_url": e.version.url,
        "artifact_url": artifact_url,
        "sha256": artifact.map(|a| a.sha256.clone()),
        "previous_version": e.promotion.previous,
        "promotion": e.promotion.number,
        "registry": e.registry,
        "decision": e.decision,
    })
}

/// The webhook body: the dispatch payload plus a schema and event name.
pub fn webhook_body(e: &Event) -> Value {
    let mut body = json!({"schema": "modelgate.webhook/v1", "event": "model-promoted"});
    if let (Some(b), Value::Object(p)) = (body.as_object_mut(), client_payload(e)) {
        b.extend(p);
    }
    body
}

/// Checks GitHub's documented payload limits before sending.
pub fn check_payload(payload: &Value) -> Result<()> {
    let keys = payload.as_object().map_or(0, |o| o.len());
    let bytes = payload.to_string().len();
    if keys > MAX_PAYLOAD_KEYS || bytes > MAX_PAYLOAD_BYTES {
        return Err(Error::Trigger(format!(
            "repository_dispatch client_payload has {keys} keys and {bytes} bytes; GitHub allows {MAX_PAYLOAD_KEYS} and {MAX_PAYLOAD_BYTES}"
        )));
    }
    Ok(())
}

/// Sends the dispatch event.
pub fn dispatch(gh: &GitHub, event_type: &str, e: &Event) -> Result<Delivery> {
    let payload = client_payload(e);
    check_payload(&payload)?;
    let path = gh.repo_path("/dispatches");
    let body = json!({"event_type": event_type, "client_payload": payload});
    let r = gh.expect(Method::POST, &path, Some(&body), Permission::ContentsWrite)?;
    Ok(Delivery {
        target: "repository_dispatch".into(),
        delivery_id: delivery_id(e.promotion, "repository_dispatch"),
        status: r.status,
        at: crate::lineage::now(),
    })
}

/// The target name deliveries record a GitHub Deployment under.
pub const DEPLOYMENT_TARGET: &str = "github_deployment";

/// A deployment, with the fields read back ("Deployment" in the REST
/// description).
#[derive(Debug, serde::Deserialize)]
struct Deployment {
    id: u64,
    #[serde(default)]
    payload: Value,
}

/// Records the promotion as a GitHub Deployment to the `production`
/// environment at the version tag, with a `success` status, so production
/// shows in the repository's Deployments view and environment protection
/// rules apply to it. A deployment an interrupted run already created for
/// this promotion is reused, so a re-run never makes a second one.
pub fn deployment(gh: &GitHub, e: &Event) -> Result<Delivery> {
    let list = gh.repo_path(&format!(
        "/deployments?environment=production&ref={}&per_page=100",
        crate::github::encode_segment(&e.version.tag)
    ));
    let r = gh.expect(Method::GET, &list, None, Permission::DeploymentsWrite)?;
    let existing: Vec<Deployment> = r.json("deployments")?;
    let id = match existing
        .iter()
        .find(|d| d.payload["promotion"] == json!(e.promotion.number))
    {
        Some(d) => d.id,
        None => {
            let payload = client_payload(e);
            let body = json!({
                "ref": e.version.tag,
                "environment": "production",
                "production_environment": true,
                // A tag needs no merge, and the gates are the checks.
                "auto_merge": false,
                "required_contexts": [],
                "description": format!("{} {}: promotion {}", e.promotion.model, e.promotion.version, e.promotion.number),
                "payload": {
                    "model": payload["model"],
                    "version": payload["version"],
                    "sha256": payload["sha256"],
                    "promotion": payload["promotion"],
                    "decision": payload["decision"],
                },
            });
            let path = gh.repo_path("/deployments");
            let r = gh.expect(
                Method::POST,
                &path,
                Some(&body),
                Permission::DeploymentsWrite,
            )?;
            r.json::<Deployment>("deployment")?.id
        }
    };
    let path = gh.repo_path(&format!("/deployments/{id}/statuses"));
    let body = json!({
        "state": "success",
        "description": "promoted by modelgate: every gate passed",
        "environment_url": e.version.url,
        // Earlier production deployments become inactive.
        "auto_inactive": true,
    });
    let r = gh.expect(
        Method::POST,
        &path,
        Some(&body),
        Permission::DeploymentsWrite,
    )?;
    Ok(Delivery {
        target: DEPLOYMENT_TARGET.into(),
        delivery_id: delivery_id(e.promotion, DEPLOYMENT_TARGET),
        status: r.status,
        at: crate::lineage::now(),
    })
}

/// The key of a Standard Webhooks secret: the bytes the base64 after the
/// optional `whsec_` prefix encodes. `None` when the text is not base64.
pub fn standard_key(secret: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded))
        .ok()?;
    (!key.is_empty()).then_some(key)
}

/// Standard Webhooks' `v1,<base64>` over `id.timestamp.body`.
pub fn standard_signature(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> Result<String> {
    use base64::Engine;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key)
        .map_err(|e| Error::Trigger(format!("cannot key the webhook signature: {e}")))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The legacy `X-Modelgate-Signature-256`: `sha256=<hex>` over
/// `timestamp.body`, keyed by the secret's text.
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> Result<String> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret)
        .map_err(|e| Error::Trigger(format!("cannot key the webhook signature: {e}")))?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// Posts the webhook, retrying 5xx, 429 (honouring `Retry-After`) and
/// network errors with exponential backoff.
pub fn webhook(hook: &WebhookSpec, e: &Event) -> Result<Delivery> {
    let body = webhook_body(e).to_string();
    let secret = match &hook.secret_env {
        None => None,
        Some(var) => Some(
            std::env::var(var)
                .ok()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    Error::Trigger(format!(
                        "webhook {}: the secret variable {var} is not set",
                        hook.url
                    ))
                })?,
        ),
    };
    // A secret that is not Standard Webhooks' cannot sign the standard
    // way; with the legacy headers it still signs those.
    let key = match &secret {
        None => None,
        Some(s) => match standard_key(s) {
            Some(key) => Some(key),
            None if hook.legacy_headers => {
                crate::progress::note(&format!(
                    "webhook {}: the secret in {} is not `whsec_` + base64, so only the legacy X-Modelgate signature is sent",
                    hook.url,
                    hook.secret_env.as_deref().unwrap_or_default()
                ));
                None
            }
            None => {
                return Err(Error::Trigger(format!(
                    "webhook {}: the secret in {} is not a Standard Webhooks secret (`whsec_` followed by base64, e.g. `whsec_$(openssl rand -base64 32)`); set `legacy_headers: true` to keep signing the old way for now",
                    hook.url,
                    hook.secret_env.as_deref().unwrap_or_default()
                )));
            }
        },
    };
    let id = delivery_id(e.promotion, &hook.url);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(WEBHOOK_TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut last = String::new();
    for attempt in 1..=WEBHOOK_ATTEMPTS {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut req = agent
            .post(&hook.url)
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                concat!("modelgate/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", &id)
            .header("webhook-timestamp", &timestamp.to_string());
        if let Some(key) = &key {
            req = req.header(
                "webhook-signature",
                &standard_signature(key, &id, timestamp, body.as_bytes())?,
            );
        }
        if hook.legacy_headers {
            req = req
                .header("X-Modelgate-Event", "model-promoted")
                .header("X-Modelgate-Delivery", &id)
                .header("X-Modelgate-Timestamp", &timestamp.to_string());
            if let Some(s) = &secret {
                req = req.header(
                    "X-Modelgate-Signature-256",
                    &signature(s.as_bytes(), timestamp, body.as_bytes())?,
                );
            }
        }
        let mut wait = Duration::from_millis(250 * 2u64.pow(attempt - 1));
        match req.send(body.as_bytes()) {
            Ok(r) if r.status().is_success() => {
                return Ok(Delivery {
                    target: hook.url.clone(),
                    delivery_id: id,
                    status: r.status().as_u16(),
                    at: crate::lineage::now(),
                });
            }
            Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
                last = format!("HTTP {}", r.status().as_u16());
                if let Some(s) = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                {
                    wait = Duration::from_secs(s).min(MAX_RETRY_AFTER);
                }
            }
            Ok(r) => {
                return Err(Error::Trigger(format!(
                    "webhook {}: HTTP {} (not retried: the receiver refused the delivery)",
                    hook.url,
                    r.status().as_u16()
                )));
            }
            Err(err) => last = err.to_string(),
        }
        if attempt < WEBHOOK_ATTEMPTS {
            crate::progress::note(&format!(
                "webhook {}: {last}; retrying in {:.2}s",
                hook.url,
                wait.as_secs_f64()
            ));
            std::thread::sleep(wait);
        }
    }
    Err(Error::Trigger(format!(
        "webhook {}: {last} after {WEBHOOK_ATTEMPTS} attempts",
        hook.url
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 with our `timestamp.body` framing split back
    /// into one message: key "Jefe", data "what do ya want for nothing?".
    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(signature(b"s3cret", 1700000000, b"{}").unwrap(), {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
            m.update(b"1700000000.{}");
            format!("sha256={}", hex::encode(m.finalize().into_bytes()))
        });
    }

    /// The example in the Standard Webhooks specification (and the
    /// `standardwebhooks` package's tests).
    #[test]
    fn standard_signature_matches_the_specification_example() {
        let key = standard_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = standard_signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        // Without the prefix, and without padding, the key is the same.
        assert_eq!(standard_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Some(key));
        assert_eq!(standard_key("whsec_not base64!"), None);
        assert_eq!(standard_key("whsec_"), None);
    }

    #[test]
    fn payload_limits_are_enforced() {
        let ok = json!({"a": 1});
        assert!(check_payload(&ok).is_ok());
        let many: serde_json::Map<String, Value> =
            (0..11).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(check_payload(&Value::Object(many)).is_err());
        assert!(check_payload(&json!({"big": "x".repeat(70_000)})).is_err());
    }
}
