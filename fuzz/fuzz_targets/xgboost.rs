//! libFuzzer target: `modelgate::fuzz::xgboost`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = modelgate::fuzz::xgboost(data);
});
