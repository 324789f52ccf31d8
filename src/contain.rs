//! Third-party code that panics on malformed input, kept from taking the
//! process down. tract, for one, indexes maps with names read from an ONNX
//! file (an output that names no node panics inside tract-onnx), and a
//! user's model file must give a one-line error with exit 2, not exit 101
//! and a backtrace. Only calls into such libraries go through [`contain`]:
//! a panic in modelgate's own code is a bug that tests and fuzzing must
//! see, so it is never caught.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is inside [`contain`]: its panics are not printed.
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
    /// The message of the last contained panic on this thread.
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f`; a panic inside it becomes `Err` with the panic's message, and
/// prints nothing. Panics elsewhere, on any thread, print as before.
pub fn contain<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CONTAINED.with(Cell::get) {
                let payload = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".into());
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let text = crate::text::cut(&format!("{payload}{at}"), 300);
                MESSAGE.with(|m| *m.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
    let outer = CONTAINED.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(outer));
    result.map_err(|_| {
        MESSAGE
            .with(|m| m.borrow_mut().take())
            .unwrap_or_else(|| "a panic".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_becomes_an_error_with_its_message() {
        assert_eq!(contain(|| 7), Ok(7));
        let e = contain(|| -> u8 { panic!("bad index {}", 3) }).unwrap_err();
        assert!(e.starts_with("bad index 3 at src/contain.rs:"), "{e}");
        let nested = contain(|| contain(|| -> u8 { panic!("inner") }).unwrap_err());
        assert!(nested.unwrap().starts_with("inner"));
    }
}
