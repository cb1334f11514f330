//! Recompiles the server when the console's build output appears or changes: rust-embed
//! resolves `../console/dist` when the server is compiled (a debug build compiled while it was
//! missing would otherwise serve "console not built" until something else changed), and a
//! release build embeds the files that were there.

use std::path::Path;

fn main() {
    let dist = Path::new("../console/dist");
    if dist.is_dir() {
        println!("cargo:rerun-if-changed=../console/dist");
    } else {
        // Its creation changes the console directory.
        println!("cargo:rerun-if-changed=../console");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
