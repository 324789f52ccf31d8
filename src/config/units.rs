//! Units in `modelgate.yaml`: durations (`10s`, `500ms`, `2m`) and memory
//! sizes (`512MiB`, `1GiB`), as text or bare numbers. Hand-written because
//! the grammar is small and its error messages are part of the config's
//! diagnostics; `humantime`-style crates accept forms the schema does not.

use std::time::Duration;

use serde::Deserialize;
use serde::de;

/// Parses `10s`, `500ms`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((t, ""), |i| t.split_at(i));
    let n: f64 = num.trim().parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1e3,
        "m" | "min" => n * 60.0,
        _ => return None,
    };
    (secs.is_finite() && secs > 0.0 && secs <= 3600.0).then(|| Duration::from_secs_f64(secs))
}

/// Parses `512MiB`, `1GiB`, `64MB`, `1048576` (bytes).
pub fn parse_byte_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((t, ""), |i| t.split_at(i));
    let n: f64 = num.trim().parse().ok()?;
    let mult = match unit.trim() {
        "" | "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return None,
    };
    let bytes = n * mult;
    (1.0..=64.0 * 1024.0 * 1024.0 * 1024.0)
        .contains(&bytes)
        .then_some(bytes as u64)
}

/// In the JSON Schema: a duration or size, as text or a bare number.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only describes the schema; values are parsed by `duration`/`byte_size`.
pub(super) enum UnitText {
    Text(String),
    Number(f64),
}

/// A string or number from YAML as text, for the unit parsers.
pub(super) fn scalar_text<'de, D: de::Deserializer<'de>>(
    d: D,
) -> std::result::Result<String, D::Error> {
    Ok(match serde_norway::Value::deserialize(d)? {
        serde_norway::Value::String(s) => s,
        serde_norway::Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

pub(super) fn duration<'de, D: de::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Duration>, D::Error> {
    let text = scalar_text(d)?;
    parse_duration(&text).map(Some).ok_or_else(|| {
        de::Error::custom(format!(
            "`{text}` is not a duration; expected e.g. 10s, 500ms or 2m (at most 1 hour)"
        ))
    })
}

pub(super) fn byte_size<'de, D: de::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<u64>, D::Error> {
    let text = scalar_text(d)?;
    parse_byte_size(&text).map(Some).ok_or_else(|| {
        de::Error::custom(format!(
            "`{text}` is not a memory size; expected e.g. 512MiB or 1GiB"
        ))
    })
}
