//! The gate contract, one module per WIT version, as zed's extension host
//! keeps `wit/since_v*.rs`. Today there is one version. Changes within a
//! version are additive (new host functions, new optional fields), so every
//! gate built against it keeps loading; an incompatible change would add
//! `gates/wit/v<next>/` and a `since_v<next>.rs` beside this one, and the
//! host would link both worlds so that old gates still run.

pub mod since_v0_1_0;

/// The version of the `modelgate:gate` package this host implements.
pub const WIT_VERSION: &str = "0.1.0";

/// The contract the host links today.
pub use since_v0_1_0 as latest;

#[cfg(test)]
mod tests {
    #[test]
    fn the_constant_names_the_package_in_the_wit_file() {
        let wit = include_str!("../../../gates/wit/gate.wit");
        assert!(
            wit.contains(&format!("package modelgate:gate@{};", super::WIT_VERSION)),
            "gates/wit/gate.wit declares another version than WIT_VERSION"
        );
    }
}
