//! `modelgate.yaml`, in four parts: [`raw`] serde shapes (the public
//! contract, and the source of the JSON Schema), [`types`] (the validated
//! form, all the engine ever sees), [`units`] (durations and sizes) and
//! [`diagnostics`] (line and column, "did you mean"). [`Config::load`] reads
//! a file through all of them; [`locate`] finds a value's line afterwards.

mod diagnostics;
mod locate;
mod raw;
mod types;
mod units;
mod validate;

use std::path::Path;

use crate::error::{Error, Result};

pub use locate::{Step, locate};
pub use raw::json_schema;
pub use types::*;
pub use units::{parse_byte_size, parse_duration};
pub use validate::valid_repository;

/// The largest config file read: a real one is a few KiB, and the YAML
/// parser's time grows faster than linearly on adversarial input.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(file: &Path) -> Result<Config> {
        let size = std::fs::metadata(file)
            .map_err(|e| Error::io("cannot read config", file, e))?
            .len();
        if size > MAX_CONFIG_BYTES {
            return Err(diagnostics::config_error(
                file,
                format!(
                    "the file is {size} bytes; a modelgate config is at most {} KiB (is this the right file?)",
                    MAX_CONFIG_BYTES >> 10
                ),
            ));
        }
        let text =
            std::fs::read_to_string(file).map_err(|e| Error::io("cannot read config", file, e))?;
        Config::parse(file, &text)
    }

    /// Parses config text; `file` names it in errors and anchors relative paths.
    pub fn parse(file: &Path, text: &str) -> Result<Config> {
        diagnostics::check_nesting(file, text)?;
        let raw: raw::RawConfig =
            serde_norway::from_str(text).map_err(|e| diagnostics::yaml_error(file, &e))?;
        validate::validate(file, text, raw)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new("/cfg/modelgate.yaml"), text)
    }

    const BASE: &str = "model: fraud\nholdout:\n  path: h.parquet\n  label: y\ncandidate:\n  scores: { column: s }\n";

    #[test]
    fn minimal_config_gets_defaults_and_resolved_paths() {
        let c = parse(BASE).unwrap();
        assert_eq!(c.holdout.path, Path::new("/cfg/h.parquet"));
        assert_eq!(c.metrics, MetricsSpec::default());
        assert!(c.production.is_none());
        assert_eq!(
            c.candidate,
            ModelRef::Scores(ScoreSource::Column("s".into()))
        );
    }

    #[test]
    fn threshold_accepts_number_or_at_fpr_map() {
        let c = parse(&format!(
            "{BASE}metrics:\n  threshold: {{ at_fpr: 0.02 }}\n"
        ))
        .unwrap();
        assert_eq!(c.metrics.threshold, Threshold::AtFpr(0.02));
        let c = parse(&format!("{BASE}metrics:\n  threshold: 1\n")).unwrap();
        assert_eq!(c.metrics.threshold, Threshold::Fixed(1.0));
        let e = parse(&format!("{BASE}metrics:\n  threshold: {{ at_fpr: 2 }}\n")).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains(":8:14: metrics.threshold: 2 is not a rate"),
            "{e}"
        );
        let e = parse(&format!("{BASE}metrics:\n  at_fpr: [0.01, 0]\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("metrics.at_fpr: 0 is not a rate"), "{e}");
    }

    #[test]
    fn unknown_key_suggests_the_close_one_with_location() {
        let e = parse(&format!("{BASE}metrics:\n  treshold: 0.3\n"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/cfg/modelgate.yaml:8:3: "), "{e}");
        assert!(
            e.contains("unknown key `treshold`, did you mean `threshold`?"),
            "{e}"
        );
    }

    #[test]
    fn unknown_extension_is_a_config_error() {
        let e = parse(&BASE.replace("h.parquet", "h.xlsx"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(":3:3: holdout: path `h.xlsx`") && e.contains(".parquet, .csv"),
            "{e}"
        );
    }

    #[test]
    fn external_scores_default_join_on_to_holdout_id() {
        let text = "model: m\nholdout: { path: h.csv.gz, label: y, id: tx }\ncandidate:\n  scores: { path: s.parquet, column: p }\n";
        let c = parse(text).unwrap();
        match c.candidate {
            ModelRef::Scores(ScoreSource::File {
                join_on, format, ..
            }) => {
                assert_eq!(join_on, "tx");
                assert_eq!(format, DataFormat::Parquet);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(c.holdout.format, DataFormat::CsvGz);
    }

    #[test]
    fn label_positive_accepts_strings_and_numbers() {
        let c = parse(&BASE.replace("label: y", "label: y\n  positive: fraud")).unwrap();
        assert_eq!(c.holdout.positive, Some(LabelValue::Text("fraud".into())));
        let c = parse(&BASE.replace("label: y", "label: y\n  positive: 2")).unwrap();
        assert_eq!(c.holdout.positive, Some(LabelValue::Int(2)));
    }

    #[test]
    fn gates_parse_with_limits_and_defaults() {
        let text = format!(
            "{BASE}reference: {{ path: train.parquet }}\ngates:\n  - uses: builtin:drift\n  - uses: ./g.wasm\n    id: mine\n    severity: warn\n    timeout: 500ms\n    memory: 64MiB\n    with: {{ a: 1 }}\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.reference.unwrap().path, Path::new("/cfg/train.parquet"));
        assert_eq!(c.gates[0].source, GateSource::Builtin("drift".into()));
        assert_eq!(c.gates[0].timeout, DEFAULT_GATE_TIMEOUT);
        assert_eq!(c.gates[1].source, GateSource::File("/cfg/./g.wasm".into()));
        assert_eq!(c.gates[1].severity, Severity::Warn);
        assert_eq!(c.gates[1].timeout, Duration::from_millis(500));
        assert_eq!(c.gates[1].memory, 64 << 20);
        assert_eq!(c.gates[1].with, serde_json::json!({"a": 1}));
        let e = parse(&format!(
            "{BASE}gates:\n  - uses: builtin:x\n    timeout: forever\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("`forever` is not a duration"), "{e}");
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_byte_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_byte_size("12 parsecs"), None);
    }
}
