//! The plugins compiled into the binary: `runner/build.rs` builds them from
//! `plugins/` for `wasm32-wasip2`, and they are always offered, whatever the
//! plugins directory holds (see `crate::operations::reload`).

/// The plugins compiled into the binary, as `(name, wasm)`; their origins are
/// `bundled:<name>`.
pub fn bundled() -> &'static [(&'static str, &'static [u8])] {
    static BUNDLED: &[(&str, &[u8])] = &[
        (
            "probe",
            include_bytes!(concat!(env!("OUT_DIR"), "/bundled/probe.wasm")),
        ),
        (
            "json-compare",
            include_bytes!(concat!(env!("OUT_DIR"), "/bundled/json-compare.wasm")),
        ),
        (
            "json-merge",
            include_bytes!(concat!(env!("OUT_DIR"), "/bundled/json-merge.wasm")),
        ),
        (
            "text-diff",
            include_bytes!(concat!(env!("OUT_DIR"), "/bundled/text-diff.wasm")),
        ),
    ];
    BUNDLED
}
