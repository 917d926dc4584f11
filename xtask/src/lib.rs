//! `cargo xtask generate | check`: the OpenAPI specs in `openapi/` -> the generated clients in
//! `crates/<provider>/src/generated.rs`, and the drift check CI runs; `cargo xtask contract-diff`:
//! a spec against its vendor's published document ([`contract`]).
//!
//! The generator is the progenitor *library* (not its macro, not a build script), run here so
//! that the generated code is committed: downstream crates build without progenitor's generator,
//! and reviewers see what a spec change does. Generation is deterministic: the same specs give
//! byte-identical files.

pub mod bench;
pub mod codegen;
pub mod contract;
pub mod liberal;
pub mod providers;
pub mod spec;

use std::path::PathBuf;

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
