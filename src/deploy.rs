//! Deploy triggers, fired only after the production alias has moved: a
//! GitHub `repository_dispatch` event and signed webhooks.
//!
//! Webhook receivers verify `X-Modelgate-Signature-256`, which is
//! `sha256=` + hex(HMAC-SHA256(secret, timestamp + "." + body)) with the
//! timestamp from `X-Modelgate-Timestamp`; they reject stale timestamps and
//! drop repeated `X-Modelgate-Delivery` ids (the id is the same on every
//! re-run of one promotion).

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

/// `sha256=<hex>` over `timestamp.body`.
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
            .header("X-Modelgate-Event", "model-promoted")
            .header("X-Modelgate-Delivery", &id)
            .header("X-Modelgate-Timestamp", &timestamp.to_string());
        if let Some(s) = &secret {
            req = req.header(
                "X-Modelgate-Signature-256",
                &signature(s.as_bytes(), timestamp, body.as_bytes())?,
            );
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
