//! A gate's `with:` settings checked against the JSON Schema the gate
//! declares in `metadata()`, before any data is read: a typo or a negative
//! threshold is a config error (exit 2) at the line that holds it, instead
//! of a gate that errors or fails every column after a long evaluation.
//!
//! boon validates (draft 2020-12 by default, and the drafts a schema names
//! in `$schema`). A gate's schema is untrusted input: it may not load
//! anything, so a `$ref` to a file or URL is refused rather than fetched.

use boon::{Compiler, Schemas, UrlLoader};

use crate::config::Step;

/// Where the schema lives for boon; it resolves nothing else.
const SCHEMA_URL: &str = "urn:modelgate:gate-config";

/// Refuses every load: a gate's schema sees no file and no network.
struct NoLoads;

impl UrlLoader for NoLoads {
    fn load(&self, url: &str) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        Err(format!("a gate's config schema may not load {url}").into())
    }
}

/// A compiled config schema.
pub struct ConfigSchema {
    raw: serde_json::Value,
    schemas: Schemas,
    index: boon::SchemaIndex,
}

/// The first problem found in a `with:` map.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Where under `with:`: the offending key for an unknown key.
    pub path: Vec<Step>,
    pub message: String,
}

impl ConfigSchema {
    /// Compiles a gate's schema; the error says why it is not one.
    pub fn compile(schema: &serde_json::Value) -> Result<ConfigSchema, String> {
        let mut compiler = Compiler::new();
        compiler.use_loader(Box::new(NoLoads));
        let mut schemas = Schemas::new();
        compiler
            .add_resource(SCHEMA_URL, schema.clone())
            .map_err(|e| error_chain(&e))?;
        let index = compiler
            .compile(SCHEMA_URL, &mut schemas)
            .map_err(|e| error_chain(&e))?;
        Ok(ConfigSchema {
            raw: schema.clone(),
            schemas,
            index,
        })
    }

    /// The deepest first violation, with its place.
    pub fn check(&self, with: &serde_json::Value) -> Result<(), Violation> {
        let Err(e) = self.schemas.validate(with, self.index) else {
            return Ok(());
        };
        let mut leaf = &e;
        while let Some(first) = leaf.causes.first() {
            leaf = first;
        }
        let mut path: Vec<Step> = leaf
            .instance_location
            .tokens
            .iter()
            .map(|t| match t {
                boon::InstanceToken::Prop(p) => Step::Key(p.to_string()),
                boon::InstanceToken::Item(i) => Step::Index(*i),
            })
            .collect();
        let message = match &leaf.kind {
            boon::ErrorKind::AdditionalProperties { got } => {
                let known = declared_keys(&self.raw, &path);
                let key = got.first().map(|k| k.to_string()).unwrap_or_default();
                path.push(Step::Key(key.clone()));
                match crate::text::closest(&key, known.iter().map(String::as_str)) {
                    Some(near) => format!("unknown key (did you mean `{near}`?)"),
                    None if known.is_empty() => "unknown key".to_string(),
                    None => format!("unknown key; known: {}", known.join(", ")),
                }
            }
            kind => kind.to_string(),
        };
        Err(Violation {
            path,
            message: crate::text::cut(&message, 200),
        })
    }
}

/// The keys the schema declares for the map at `path`, for a "did you
/// mean": its `properties`, followed down through `properties`, an object
/// `additionalProperties` and `items`.
fn declared_keys(schema: &serde_json::Value, path: &[Step]) -> Vec<String> {
    let mut s = schema;
    for step in path {
        let next = match step {
            Step::Key(k) => s
                .get("properties")
                .and_then(|p| p.get(k))
                .or_else(|| s.get("additionalProperties").filter(|a| a.is_object())),
            Step::Index(_) => s.get("items"),
        };
        match next {
            Some(n) => s = n,
            None => return Vec::new(),
        }
    }
    s.get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    crate::text::cut(&text, 300)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> ConfigSchema {
        ConfigSchema::compile(&json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "max_ratio": {"type": "number", "minimum": 0, "maximum": 1},
                "columns": {"type": "object", "additionalProperties": {
                    "type": "object", "additionalProperties": false,
                    "properties": {"min": {"type": "number"}, "severity": {"enum": ["fail", "warn"]}}
                }},
                "ignore": {"type": "array", "items": {"type": "string"}}
            }
        }))
        .unwrap()
    }

    fn key(k: &str) -> Step {
        Step::Key(k.into())
    }

    #[test]
    fn valid_settings_pass() {
        let s = schema();
        s.check(&json!({})).unwrap();
        s.check(&json!({"max_ratio": 0.5, "columns": {"a": {"min": -3}}, "ignore": ["x"]}))
            .unwrap();
    }

    #[test]
    fn a_violation_names_its_place_and_reason() {
        let s = schema();
        let v = s.check(&json!({"max_ratio": -1})).unwrap_err();
        assert_eq!(v.path, vec![key("max_ratio")]);
        assert_eq!(v.message, "must be >=0, but got -1");
        let v = s.check(&json!({"ignore": ["x", 3]})).unwrap_err();
        assert_eq!(v.path, vec![key("ignore"), Step::Index(1)]);
        assert_eq!(v.message, "want string, but got number");
        let v = s
            .check(&json!({"columns": {"amount": {"severity": "loud"}}}))
            .unwrap_err();
        assert_eq!(v.path, vec![key("columns"), key("amount"), key("severity")]);
        assert!(
            v.message.starts_with("value must be one of"),
            "{}",
            v.message
        );
    }

    #[test]
    fn an_unknown_key_gets_a_did_you_mean_from_the_schema_at_its_depth() {
        let s = schema();
        let v = s.check(&json!({"max_ratoi": 0.1})).unwrap_err();
        assert_eq!(v.path, vec![key("max_ratoi")]);
        assert_eq!(v.message, "unknown key (did you mean `max_ratio`?)");
        let v = s.check(&json!({"columns": {"a": {"mni": 1}}})).unwrap_err();
        assert_eq!(v.path, vec![key("columns"), key("a"), key("mni")]);
        assert_eq!(v.message, "unknown key (did you mean `min`?)");
        let v = s.check(&json!({"zzzzzzzz": 1})).unwrap_err();
        assert_eq!(v.message, "unknown key; known: max_ratio, columns, ignore");
    }

    #[test]
    fn a_schema_may_not_load_files_or_urls() {
        for target in ["file:///etc/passwd", "https://example.com/s.json"] {
            let e = ConfigSchema::compile(&json!({"$ref": target}))
                .err()
                .expect("refused");
            assert!(e.contains("may not load"), "{e}");
        }
        let e = ConfigSchema::compile(&json!({"type": 3}))
            .err()
            .expect("bad");
        assert!(!e.is_empty());
    }
}
