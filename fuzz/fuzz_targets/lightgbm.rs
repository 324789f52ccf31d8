//! libFuzzer target: `modelgate::fuzz::lightgbm`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = modelgate::fuzz::lightgbm(data);
});
