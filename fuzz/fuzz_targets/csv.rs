//! libFuzzer target: `modelgate::fuzz::csv`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = modelgate::fuzz::csv(data);
});
