//! The library's error type. Every variant names the file, key or column at
//! fault, because a CI log line is often all a user gets to see.

use std::path::PathBuf;

use thiserror::Error;

/// Errors that stop a command before a decision could be made (exit code 2).
#[derive(Debug, Error)]
pub enum Error {
    /// The configuration file is malformed or inconsistent.
    #[error("{file}{location}: {message}", location = fmt_location(*.line, *.column))]
    Config {
        file: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },

    /// A file could not be read or written.
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// polars failed while reading or writing a data file.
    #[error("{action} {path}")]
    Polars {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: polars::error::PolarsError,
    },

    /// A data file was read but its content cannot be used as asked.
    #[error("{path}: {message}")]
    Data { path: PathBuf, message: String },

    /// The data is valid but a metric cannot be computed from it.
    #[error("{0}")]
    Metric(String),

    /// A model artifact cannot be read or scored.
    #[error("{path}: {message}")]
    Model { path: PathBuf, message: String },

    /// A model file breaks its format, or uses what modelgate does not score.
    #[error("{path}")]
    ModelFormat {
        path: PathBuf,
        #[source]
        source: crate::model::error::FormatError,
    },

    /// The registry is unreachable, inconsistent or refuses a change.
    #[error("registry {location}: {message}")]
    Registry { location: String, message: String },

    /// A GitHub API call failed.
    #[error("GitHub API {method} {path}: {message}")]
    GitHub {
        method: String,
        path: String,
        message: String,
        #[source]
        source: Option<Box<octocrab::Error>>,
    },

    /// A deploy trigger (webhook) could not be delivered.
    #[error("{0}")]
    Trigger(String),

    /// Writing JSON output failed.
    #[error("serialising {what}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },

    /// A gate could not be set up or described (before any gate ran).
    #[error(transparent)]
    Gate(#[from] crate::gates::GateError),

    /// A gate named by its `uses` could not be described.
    #[error("{uses}: {}", error.describe())]
    GateNamed {
        uses: String,
        error: crate::gates::GateError,
    },

    /// A `gate test` case could not run.
    #[error("case `{case}`")]
    GateCase {
        case: String,
        #[source]
        source: Box<Error>,
    },

    /// A decision record, predicate or attestation cannot be read as
    /// the evidence it claims to be.
    #[error("{what}: {message}")]
    Evidence { what: String, message: String },

    /// A command-line argument is invalid in a way clap cannot see.
    #[error("{0}")]
    Usage(String),
}

fn fmt_location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl Error {
    pub(crate) fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn polars(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: polars::error::PolarsError,
    ) -> Self {
        Error::Polars {
            action,
            path: path.into(),
            source,
        }
    }
}

impl Error {
    /// Whether this error is a write to a closed pipe (`modelgate history |
    /// head -1`), which ends a command quietly rather than as an error.
    pub fn is_broken_pipe(&self) -> bool {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return true;
            }
            source = e.source();
        }
        false
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
