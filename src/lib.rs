//! modelgate: evaluate a candidate fraud model against production on a
//! holdout, gate it, record its lineage and promote it.
//!
//! Data flows one way: [`config`] → [`data`] → [`model`] → [`metrics`] →
//! [`evaluation`] → [`gates`] → [`decision`] → [`report`], and for
//! promotion → [`registry`] (with [`lineage`]) → [`deploy`] and [`attest`];
//! [`replay`] runs a recorded decision again. [`train`] makes
//! linfa models; [`github`] is the REST client; [`fs`] is the bottom floor.
//!
//! On top sits the command layer: [`cli`] (clap types and their validation)
//! and [`commands`] (one function per command, returning an
//! [`commands::ExitStatus`]). The binary parses and dispatches. No module
//! below the command layer imports `cli` or `commands`; a unit test in
//! `commands` reads every `use` line to keep it so.

pub mod attest;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod config;
pub mod contain;
pub mod data;
pub mod decision;
pub mod demo;
pub mod deploy;
pub mod error;
pub mod evaluation;
pub mod fs;
#[doc(hidden)]
pub mod fuzz;
pub mod gates;
pub mod github;
pub mod init;
pub mod integrity;
pub mod lineage;
pub mod metrics;
pub mod model;
pub mod progress;
pub mod promote;
pub mod registry;
pub mod replay;
pub mod report;
pub mod segments;
pub mod sort;
pub mod stats;
pub mod text;
pub mod train;

pub use error::{Error, Result};
