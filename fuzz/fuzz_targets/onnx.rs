//! libFuzzer target: `modelgate::fuzz::onnx`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = modelgate::fuzz::onnx(data);
});
