//! Which world of the WIT package a plugin targets, found at load time: a
//! plugin that exports `run-chunked` is a `chunked-plugin` (1.1), one that
//! exports `run` is a `plugin` (1.0). Both export `describe`.

use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::bindings::{self, chunked, types};
use super::sandbox::HostState;

/// A plugin's pre-instantiated component, by world.
pub(crate) enum GuestPre {
    /// The world `plugin`: inputs and result passed whole.
    Whole(bindings::PluginPre<HostState>),
    /// The world `chunked-plugin`: inputs and result in pieces.
    Chunked(chunked::ChunkedPluginPre<HostState>),
}

/// A plugin's instance in one store, by world.
pub(crate) enum Guest {
    Whole(bindings::Plugin),
    Chunked(chunked::ChunkedPlugin),
}

impl GuestPre {
    /// Finds the world the component's exports fit; `chunked-plugin` first.
    /// The error is the one for the world `plugin`, plus a note that
    /// `chunked-plugin` does not fit either.
    pub(crate) fn new(pre: InstancePre<HostState>) -> wasmtime::Result<GuestPre> {
        if let Ok(chunked) = chunked::ChunkedPluginPre::new(pre.clone()) {
            return Ok(GuestPre::Chunked(chunked));
        }
        bindings::PluginPre::new(pre)
            .map(GuestPre::Whole)
            .map_err(|e| {
                e.context(
                    "the component exports neither `run` (world plugin) nor `run-chunked` \
                     (world chunked-plugin)",
                )
            })
    }

    /// The world's name.
    pub(crate) fn world(&self) -> &'static str {
        match self {
            GuestPre::Whole(_) => "plugin",
            GuestPre::Chunked(_) => "chunked-plugin",
        }
    }

    /// A fresh instance in `store`.
    pub(crate) fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Guest> {
        Ok(match self {
            GuestPre::Whole(pre) => Guest::Whole(pre.instantiate(store)?),
            GuestPre::Chunked(pre) => Guest::Chunked(pre.instantiate(store)?),
        })
    }
}

impl Guest {
    /// Calls `describe`.
    pub(crate) fn call_describe(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<types::Description> {
        match self {
            Guest::Whole(guest) => guest.call_describe(store),
            Guest::Chunked(guest) => guest.call_describe(store),
        }
    }
}
