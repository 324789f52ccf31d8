//! On-disk cache of compiled gates, so a gate's second run starts in
//! milliseconds instead of recompiling with Cranelift.
//!
//! Key: the component's sha256 plus a hash of the engine's compatibility
//! settings (wasmtime version, target, config), so a change of either misses.
//! Location: `gates/` under [`crate::cache::root`].

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use wasmtime::Engine;
use wasmtime::component::Component;

fn cache_dir() -> Option<PathBuf> {
    crate::cache::root().map(|d| d.join("gates"))
}

fn engine_hash(engine: &Engine) -> u64 {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

/// The compiled component, from the cache when possible. A cache that cannot
/// be read or written is only a lost speed-up, never an error.
#[expect(
    unsafe_code,
    reason = "loading a precompiled component is unsafe in wasmtime's API; see SAFETY below"
)]
pub fn load_or_compile(
    engine: &Engine,
    label: &str,
    sha256: &str,
    bytes: &[u8],
) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir() else {
        compiling(label, bytes.len(), false);
        return Component::from_binary(engine, bytes);
    };
    let path = dir.join(format!("{sha256}-{:016x}.cwasm", engine_hash(engine)));
    if path.is_file() {
        // SAFETY: the file was written by `Component::serialize` of this same
        // engine configuration (the key includes its compatibility hash) into
        // the user's own cache directory, and is renamed into place only when
        // complete. wasmtime itself checks the header and engine settings.
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
            if crate::progress::level() == crate::progress::Level::Verbose {
                eprintln!("modelgate: loaded gate {label} from the compile cache");
            }
            return Ok(c);
        }
    }
    compiling(label, bytes.len(), true);
    let component = Component::from_binary(engine, bytes)?;
    if let Ok(serialized) = component.serialize() {
        // Renamed into place only when complete; a failure is a lost speed-up.
        let _ = crate::fs::write_atomic(&path, &serialized);
    }
    Ok(component)
}

/// Components that carry an interpreter (Python, JavaScript) take seconds
/// to compile, where a Rust gate takes milliseconds; say so, once, so a slow
/// first run is not mistaken for a hang.
const SLOW_TO_COMPILE: usize = 4 << 20;

fn compiling(label: &str, size: usize, cached: bool) {
    if size >= SLOW_TO_COMPILE {
        crate::progress::note(&format!(
            "compiling gate {label} ({:.0} MB) with Cranelift; {}",
            size as f64 / 1e6,
            if cached {
                "later runs load it from the compile cache"
            } else {
                "no cache directory, so every run compiles it"
            }
        ));
    } else if crate::progress::level() == crate::progress::Level::Verbose {
        eprintln!("modelgate: compiling gate {label}");
    }
}
