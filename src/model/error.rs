//! Why a model file cannot be used: it breaks its format's rules, it uses
//! something modelgate does not score, or the graph runtime failed on it.
//! The parsers build these with [`malformed!`] and [`unsupported!`]; the
//! loader names the file around them.

use thiserror::Error;

/// A model file problem, without the file's path (the caller adds it).
#[derive(Debug, Error)]
pub enum FormatError {
    /// A missing or mistyped field, an index out of range, a truncated file.
    #[error("{0}")]
    Malformed(String),
    /// A valid file that uses a feature modelgate does not implement.
    #[error("{0}")]
    Unsupported(String),
    /// The ONNX graph runtime (tract) failed while scoring.
    #[error("{0}")]
    Scoring(String),
}

impl FormatError {
    /// The same error, with where it happened in front (`tree 3: …`).
    pub fn context(self, at: impl std::fmt::Display) -> FormatError {
        match self {
            FormatError::Malformed(m) => FormatError::Malformed(format!("{at}: {m}")),
            FormatError::Unsupported(m) => FormatError::Unsupported(format!("{at}: {m}")),
            FormatError::Scoring(m) => FormatError::Scoring(format!("{at}: {m}")),
        }
    }
}

impl From<String> for FormatError {
    fn from(message: String) -> Self {
        FormatError::Malformed(message)
    }
}

impl From<&str> for FormatError {
    fn from(message: &str) -> Self {
        FormatError::Malformed(message.to_string())
    }
}

/// `FormatError::Malformed(format!(…))`.
macro_rules! malformed {
    ($($arg:tt)*) => {
        $crate::model::error::FormatError::Malformed(format!($($arg)*))
    };
}

/// `FormatError::Unsupported(format!(…))`.
macro_rules! unsupported {
    ($($arg:tt)*) => {
        $crate::model::error::FormatError::Unsupported(format!($($arg)*))
    };
}

pub(crate) use {malformed, unsupported};
