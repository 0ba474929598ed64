//! The `wit-bindgen` bindings of the world `longrun:plugin/chunked-plugin`
//! (WebAssembly builds only). Used by [`crate::export!`]; not a public API.

#![allow(missing_docs)]

wit_bindgen::generate!({
    path: "../../spec/wit",
    world: "longrun:plugin/chunked-plugin",
    pub_export_macro: true,
    default_bindings_module: "longrun_plugin::bindings",
});
