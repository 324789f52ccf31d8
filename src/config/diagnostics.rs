//! Config errors a person can act on: the line and column of a YAML error,
//! serde's wording turned into the config's ("unknown key"), and a
//! "did you mean" drawn from the keys the serde types themselves accept
//! (read from the JSON Schema they generate, so there is no second list).

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::Error;

/// Bytes of a config error message: serde quotes the offending value, which
/// may be most of a file that is not a config at all.
const MAX_MESSAGE_BYTES: usize = 300;

/// Deepest `[`/`{` nesting accepted, checked before the YAML parser runs.
pub const MAX_NESTING: usize = 64;

pub(super) fn config_error(file: &Path, message: impl Into<String>) -> Error {
    Error::Config {
        file: file.to_path_buf(),
        line: None,
        column: None,
        message: crate::text::cut(&message.into(), MAX_MESSAGE_BYTES),
    }
}

/// Refuses flow collections nested deeper than [`MAX_NESTING`], pointing at
/// the bracket that goes too deep. The scan skips quoted strings and
/// comments; it is linear, where the parser is not on such input.
pub(super) fn check_nesting(file: &Path, text: &str) -> Result<(), Error> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    // Inside a quoted scalar (which may span lines), and after a backslash
    // in a double-quoted one; `''` in a single-quoted one closes and reopens.
    let (mut quote, mut escaped, mut comment) = (None, false, false);
    let mut previous = '\n';
    for c in text.chars() {
        column += 1;
        if c == '\n' {
            (line, column, comment) = (line + 1, 0, false);
        } else if comment {
            // The rest of the line is a comment.
            continue;
        } else if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == '"' && c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                '"' | '\'' => quote = Some(c),
                '#' if previous.is_whitespace() => comment = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(Error::Config {
                            file: file.to_path_buf(),
                            line: Some(line),
                            column: Some(column),
                            message: format!(
                                "brackets nested deeper than {MAX_NESTING} levels; a modelgate config needs a few"
                            ),
                        });
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        previous = c;
    }
    Ok(())
}

pub(super) fn yaml_error(file: &Path, e: &serde_norway::Error) -> Error {
    let (line, column) = match e.location() {
        Some(loc) => (Some(loc.line()), Some(loc.column())),
        None => (None, None),
    };
    // serde_norway appends " at line L column C"; we print the location ourselves.
    let mut message = e.to_string();
    if let Some(idx) = message.find(" at line ") {
        message.truncate(idx);
    }
    Error::Config {
        file: file.to_path_buf(),
        line,
        column,
        message: crate::text::cut(&humanise_serde_message(&message), MAX_MESSAGE_BYTES),
    }
}

/// Rewrites serde's "unknown field" wording into the config's vocabulary and
/// adds a "did you mean" suggestion when a known key is close.
pub(super) fn humanise_serde_message(message: &str) -> String {
    // serde_norway prefixes the key path, e.g. "metrics: unknown field ...".
    let Some(at) = message.find("unknown field `") else {
        return message.to_string();
    };
    let prefix = &message[..at];
    let rest = &message[at + "unknown field `".len()..];
    let Some(end) = rest.find('`') else {
        return message.to_string();
    };
    let key = &rest[..end];
    let expected: Vec<&str> = rest[end..].split('`').skip(2).step_by(2).collect();
    let known = known_keys();
    let candidates: Vec<&str> = if expected.is_empty() {
        known.iter().map(String::as_str).collect()
    } else {
        expected.clone()
    };
    match crate::text::closest(key, candidates.iter().copied()) {
        Some(k) => format!("{prefix}unknown key `{key}`, did you mean `{k}`?"),
        None if !expected.is_empty() => {
            format!(
                "{prefix}unknown key `{key}`, expected one of: {}",
                expected.join(", ")
            )
        }
        None => format!("{prefix}unknown key `{key}`"),
    }
}

/// Every key the config accepts, anywhere in the file: the property names
/// of every object in the JSON Schema generated from the raw serde types.
pub(super) fn known_keys() -> BTreeSet<String> {
    fn walk(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(serde_json::Value::Object(props)) = o.get("properties") {
                    out.extend(props.keys().cloned());
                }
                o.values().for_each(|x| walk(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(&super::json_schema(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_refused_before_parsing_and_quotes_do_not_count() {
        let f = Path::new("c.yaml");
        let deep = format!("model: {}", "[".repeat(65_536));
        let e = check_nesting(f, &deep).unwrap_err().to_string();
        assert!(
            e.starts_with("c.yaml:1:72: brackets nested deeper than 64"),
            "{e}"
        );
        let ok = format!(
            "model: \"{}\" # {}\nx: [[1], {{a: [2]}}]\n",
            "[".repeat(100),
            "{".repeat(100)
        );
        assert!(check_nesting(f, &ok).is_ok());
        let e = check_nesting(f, &format!("a:\n  b: {}", "{x: ".repeat(65)))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.yaml:2:"), "{e}");
    }

    #[test]
    fn messages_quote_at_most_an_excerpt() {
        let e = config_error(Path::new("c.yaml"), "x".repeat(5 << 20)).to_string();
        assert!(e.len() < 400 && e.contains("[cut: "), "{} bytes", e.len());
    }

    #[test]
    fn known_keys_come_from_the_serde_types() {
        let keys = known_keys();
        // Top level, nested, model kinds and registry/promotion keys: every
        // key the hand-kept list had before it was derived.
        for k in [
            "model",
            "holdout",
            "candidate",
            "production",
            "metrics",
            "path",
            "label",
            "id",
            "amount",
            "positive",
            "scores",
            "column",
            "join_on",
            "threshold",
            "at_fpr",
            "reference",
            "gates",
            "uses",
            "severity",
            "timeout",
            "memory",
            "with",
            "linfa",
            "onnx",
            "xgboost",
            "lightgbm",
            "features",
            "registry",
            "kind",
            "repository",
            "token_env",
            "promote",
            "dispatch",
            "event_type",
            "webhooks",
            "url",
            "secret_env",
            "lineage",
            "training_data",
            "params",
        ] {
            assert!(keys.contains(k), "`{k}` is missing from {keys:?}");
        }
        assert!(
            !keys.contains("type"),
            "schema vocabulary is not a config key"
        );
    }

    #[test]
    fn a_typo_gets_the_closest_key() {
        assert_eq!(
            humanise_serde_message("unknown field `treshold`"),
            "unknown key `treshold`, did you mean `threshold`?"
        );
        assert_eq!(
            humanise_serde_message(
                "metrics: unknown field `at_fp`, expected `threshold` or `at_fpr`"
            ),
            "metrics: unknown key `at_fp`, did you mean `at_fpr`?"
        );
    }
}
