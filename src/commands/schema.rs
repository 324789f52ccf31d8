//! `modelgate schema`: the JSON Schema of `modelgate.yaml`, generated from
//! the parser's own types.

use std::io::Write;

use super::{ExitStatus, print};
use crate::error::{Error, Result};

pub fn schema(stdout: &mut dyn Write) -> Result<ExitStatus> {
    let text = serde_json::to_string_pretty(&crate::config::json_schema()).map_err(|source| {
        Error::Json {
            what: "the config schema",
            source,
        }
    })?;
    print(stdout, &(text + "\n"))?;
    Ok(ExitStatus::Success)
}
