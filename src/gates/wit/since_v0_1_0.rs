//! Bindings for `modelgate:gate@0.1.0` (`gates/wit/gate.wit`): the world the
//! built-in gates and the SDK are built against.

wasmtime::component::bindgen!({
    path: "gates/wit",
    world: "gate",
});
