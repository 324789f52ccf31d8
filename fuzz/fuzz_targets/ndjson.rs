//! libFuzzer target: `modelgate::fuzz::ndjson`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = modelgate::fuzz::ndjson(data);
});
