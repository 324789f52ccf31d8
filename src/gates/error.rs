//! Why a gate could not decide, as types rather than prefixes of a summary
//! text, after kubewarden's policy-evaluator errors. Every kind blocks
//! promotion (fail closed); [`ErrorKind`] is recorded as `error_kind` in
//! `modelgate.decision/v1`, so dashboards and tests can tell a timeout from
//! a trap without parsing prose.

use serde::Serialize;
use thiserror::Error;

use super::wit::WIT_VERSION;

/// A wasmtime error, boxed: `wasmtime::Error` does not implement
/// `std::error::Error` itself, but converts into this with its chain kept.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong with a gate.
#[derive(Debug, Error)]
pub enum GateError {
    /// The WebAssembly engine itself could not start.
    #[error("cannot start the WebAssembly engine: {0}")]
    Engine(String),

    /// A built-in name that does not exist.
    #[error("unknown built-in gate `builtin:{name}`; built-ins: {known}")]
    UnknownBuiltin { name: String, known: String },

    /// Two configured gates resolve to the same id.
    #[error("two gates have the id `{id}`; give one of them an `id:` in the config")]
    DuplicateId { id: String },

    /// A core module where a component was expected.
    #[error(
        "{label} is a core WebAssembly module, not a component; build it for wasm32-wasip2 \
         (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule { label: String },

    /// Bytes that are not WebAssembly at all.
    #[error("{label} is not a WebAssembly component (bad magic number)")]
    NotComponent { label: String },

    /// A gate by URL could not be downloaded, or not offline.
    #[error("{url}: {message}")]
    Fetch { url: String, message: String },

    /// A gate by URL downloaded other bytes than the ones pinned.
    #[error("{url}: the download has sha256 {got}, but the config pins {want}; refusing it")]
    DigestMismatch {
        url: String,
        got: String,
        want: String,
    },

    /// The component does not validate or compile.
    #[error("{label} does not compile")]
    Compile {
        label: String,
        #[source]
        source: BoxError,
    },

    /// The component imports something the host does not provide.
    #[error("{label} needs an import the host does not provide{hint}")]
    MissingImport {
        label: String,
        /// Says so when the import is another version of our own WIT.
        hint: String,
        #[source]
        source: BoxError,
    },

    /// The component does not export the gate world.
    #[error(
        "{label} does not implement the modelgate:gate@{WIT_VERSION} world (built against another WIT version?)"
    )]
    World {
        label: String,
        #[source]
        source: BoxError,
    },

    /// `metadata()` failed: its limit, trap or fault is inside.
    #[error("metadata() failed: {}", .error.describe())]
    InMetadata {
        error: Box<GateError>,
        /// What the gate wrote to stdout and stderr first (a panic's
        /// message), for its log.
        output: Vec<String>,
    },

    /// `metadata()` returned a config schema that is not JSON.
    #[error("metadata() returned a config schema that is not JSON: {source}")]
    ConfigSchema {
        #[source]
        source: serde_json::Error,
    },

    /// `metadata()` returned JSON that is not a usable JSON Schema.
    #[error("metadata() returned a config schema that is not a valid JSON Schema: {message}")]
    SchemaInvalid { message: String },

    /// The gate ran past its time limit.
    #[error("timeout: the gate ran longer than its limit of {limit}")]
    Timeout { limit: String },

    /// The gate tried to grow its memory past its limit.
    #[error("memory limit: the gate tried to grow its memory beyond its limit of {limit_mib} MiB")]
    Memory { limit_mib: u64 },

    /// The gate recursed past the stack limit.
    #[error("trap: stack overflow (too deep recursion)")]
    StackOverflow,

    /// Any other trap: a panic, an unreachable, a bad memory access.
    #[error("trap: {message} (a panic's message, if any, is in the gate log)")]
    Trap {
        /// The first line of the trap's root cause.
        message: String,
        #[source]
        source: BoxError,
    },

    /// The gate returned `err(message)`.
    #[error("the gate reported an error: {0}")]
    Reported(String),

    /// The gate returned an outcome that breaks the contract's limits.
    #[error(
        "oversized outcome: {bytes} bytes and {observations} observations (limits {max_bytes} bytes, {max_observations} observations)"
    )]
    Oversized {
        bytes: usize,
        observations: usize,
        max_bytes: usize,
        max_observations: usize,
    },

    /// The gate returned an outcome that breaks the contract's rules.
    #[error("malformed outcome: {0}")]
    Malformed(&'static str),
}

/// The kind of a gate error, as `error_kind` in `modelgate.decision/v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The gate could not be set up: engine, configuration of the gates.
    Setup,
    /// The component could not be loaded, linked or described.
    Load,
    Timeout,
    Memory,
    StackOverflow,
    Trap,
    /// The gate itself reported an error.
    Reported,
    /// The gate's outcome broke the contract.
    BadOutcome,
}

impl GateError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            GateError::Engine(_)
            | GateError::UnknownBuiltin { .. }
            | GateError::DuplicateId { .. } => ErrorKind::Setup,
            GateError::CoreModule { .. }
            | GateError::Fetch { .. }
            | GateError::DigestMismatch { .. }
            | GateError::NotComponent { .. }
            | GateError::Compile { .. }
            | GateError::MissingImport { .. }
            | GateError::World { .. }
            | GateError::ConfigSchema { .. }
            | GateError::SchemaInvalid { .. } => ErrorKind::Load,
            GateError::InMetadata { error, .. } => error.kind(),
            GateError::Timeout { .. } => ErrorKind::Timeout,
            GateError::Memory { .. } => ErrorKind::Memory,
            GateError::StackOverflow => ErrorKind::StackOverflow,
            GateError::Trap { .. } => ErrorKind::Trap,
            GateError::Reported(_) => ErrorKind::Reported,
            GateError::Oversized { .. } | GateError::Malformed(_) => ErrorKind::BadOutcome,
        }
    }

    /// One line for a gate's summary: the message and, for load errors,
    /// the causes behind it (a trap's cause is already in its message).
    pub fn describe(&self) -> String {
        let mut text = self.to_string();
        if self.kind() == ErrorKind::Load && !matches!(self, GateError::InMetadata { .. }) {
            let mut source = std::error::Error::source(self);
            while let Some(e) = source {
                text.push_str(": ");
                text.push_str(&e.to_string());
                source = e.source();
            }
        }
        first_line(&text)
    }
}

pub(super) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_errors_carry_their_cause_and_runtime_errors_their_kind() {
        let e = GateError::Compile {
            label: "g.wasm".into(),
            source: "bad section\nmore".into(),
        };
        assert_eq!(e.kind(), ErrorKind::Load);
        assert_eq!(e.describe(), "g.wasm does not compile: bad section");
        let t = GateError::Timeout { limit: "1s".into() };
        assert_eq!(t.kind(), ErrorKind::Timeout);
        assert_eq!(
            serde_json::to_value(t.kind()).unwrap(),
            serde_json::json!("timeout")
        );
        assert_eq!(
            serde_json::to_value(ErrorKind::BadOutcome).unwrap(),
            serde_json::json!("bad_outcome")
        );
    }
}
