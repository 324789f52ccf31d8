//! modelgate: evaluate a candidate fraud model against production on a
//! holdout, gate it, record its lineage and promote it.
//!
//! Data flows one way: [`config`] → [`data`] → [`model`] → [`metrics`] →
//! [`evaluation`] → [`gates`] → [`decision`] → [`report`], and for
//! promotion → [`registry`] (with [`lineage`]) → [`deploy`]. [`train`] makes
//! linfa models; [`github`] is the REST client. The binary is a thin shell
//! over [`app`].

pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod data;
pub mod decision;
pub mod demo;
pub mod deploy;
pub mod error;
pub mod evaluation;
pub mod gates;
pub mod github;
pub mod init;
pub mod lineage;
pub mod metrics;
pub mod model;
pub mod progress;
pub mod promote;
pub mod registry;
pub mod report;
pub mod sort;
pub mod stats;
pub mod train;

pub use error::{Error, Result};
