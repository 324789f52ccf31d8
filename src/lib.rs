//! modelgate: evaluate a candidate fraud model against production on a
//! holdout, gate it, record its lineage and promote it.
//!
//! Data flows one way: [`config`] → [`data`] → [`model`] → [`metrics`] →
//! [`evaluation`] → [`gates`] → [`decision`] → [`report`]. The binary is a
//! thin shell over [`app`].

pub mod app;
pub mod cli;
pub mod config;
pub mod data;
pub mod decision;
pub mod demo;
pub mod error;
pub mod evaluation;
pub mod gates;
pub mod metrics;
pub mod model;
pub mod report;
pub mod sort;

pub use error::{Error, Result};
