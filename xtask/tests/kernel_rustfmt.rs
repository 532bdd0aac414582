// SPDX-License-Identifier: GPL-2.0

//! The Rust files that land in the kernel tree (`linux/tree/**/*.rs`) are formatted as
//! `make rustfmtcheck` wants: the kernel's `.rustfmt.toml` is rustfmt's defaults with
//! `edition = "2021"` and Unix newlines.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable linux/tree") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn kernel_rust_files_are_rustfmt_clean() {
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../linux/tree");
    let mut files = Vec::new();
    rust_files(&tree, &mut files);
    assert!(!files.is_empty(), "no Rust files under {}", tree.display());
    // Each file goes through stdin, so rustfmt does not follow `mod` declarations; the core
    // crate's modules are among the files, at their kernel paths.
    let rustfmt = std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".into());
    let mut unformatted = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable file");
        let mut child = Command::new(&rustfmt)
            .args(["--edition", "2021", "--config", "newline_style=Unix"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("rustfmt runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to rustfmt");
        let out = child.wait_with_output().expect("rustfmt finishes");
        assert!(out.status.success(), "rustfmt failed on {}", file.display());
        if out.stdout != text.as_bytes() {
            unformatted.push(file.display().to_string());
        }
    }
    assert!(
        unformatted.is_empty(),
        "not rustfmt-clean: {}",
        unformatted.join(", ")
    );
}
