//! The built-in gates, embedded in the binary as prebuilt components so that
//! `cargo install` needs no wasm toolchain. `gates/dist/` holds them; CI
//! rebuilds them from `gates/builtin/` and fails when the bytes differ
//! (see gates/README.md).

/// A built-in gate: its `builtin:<name>` and its component bytes.
pub struct Builtin {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! builtin {
    ($name:literal, $file:literal) => {
        Builtin {
            name: $name,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/gates/dist/", $file)),
        }
    };
}

/// Every built-in gate, in the order `gate list` shows them.
pub const BUILTINS: &[Builtin] = &[
    builtin!("missing-values", "missing-values.wasm"),
    builtin!("schema", "schema.wasm"),
    builtin!("class-balance", "class-balance.wasm"),
    builtin!("drift", "drift.wasm"),
    builtin!("integrity", "integrity.wasm"),
    builtin!("segment-regression", "segment-regression.wasm"),
    builtin!("metric-threshold", "metric-threshold.wasm"),
    builtin!("champion-challenger", "champion-challenger.wasm"),
    builtin!("decision", "decision.wasm"),
];

/// The built-in of that name.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The names of all built-ins, for error messages.
pub fn names() -> String {
    BUILTINS
        .iter()
        .map(|b| b.name)
        .collect::<Vec<_>>()
        .join(", ")
}
