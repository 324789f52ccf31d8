//! Where modelgate caches things that are expensive to rebuild: compiled
//! gates and fetched production artifacts. `$MODELGATE_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/modelgate`, else `$HOME/.cache/modelgate`; without any of
//! them, nothing is cached.

use std::path::PathBuf;

pub fn root() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("MODELGATE_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("modelgate")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("modelgate")))
}
