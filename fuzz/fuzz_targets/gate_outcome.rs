//! libFuzzer target: `modelgate::fuzz::gate_outcome`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = modelgate::fuzz::gate_outcome(data);
});
