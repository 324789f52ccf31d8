//! The integration tests: one binary, so the crate and its heavy
//! dependencies (polars, wasmtime, tract) link once. Tests that drive the
//! real `modelgate` use [`util::Test`]; the reference tests call the library
//! and compare with scikit-learn, scipy and the model libraries.

mod fake_github;
mod http;
mod splitmix;
mod util;

mod action;
mod cli;
mod dtypes;
mod fuzz;
mod gates;
mod hostile;
mod metrics_reference;
mod models;
mod models_reference;
mod registry;
mod scale;
mod stats_reference;
mod summary;
