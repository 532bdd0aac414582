// SPDX-License-Identifier: GPL-2.0

//! The manifest `linux/series` (see its header comment for the format), `cargo xtask apply`,
//! which turns it into commits on the branch `rkasan` of the kernel tree, and `cargo xtask
//! export`, which writes that branch as a patch series.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::setup;
use crate::tree::{self, git_ident, Tree};
use crate::util::{self, bail, Context, Result, Step};

/// The branch `apply` makes.
pub const BRANCH: &str = "rkasan";

/// One thing a commit contains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A file, or every file under a directory, of `linux/tree/`, copied to the same path in the
    /// kernel tree.
    Overlay(String),
    /// A patch of `linux/patches/`, applied with `git apply`.
    Patch(String),
}

/// One commit of the series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitSpec {
    /// `subsystem: summary`.
    pub subject: String,
    /// The body, without trailing blank lines and without the Signed-off-by.
    pub body: Vec<String>,
    /// What it contains, in order.
    pub items: Vec<Item>,
}

/// The parsed `linux/series`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `Name <email>` for authorship and Signed-off-by, if given.
    pub author: Option<String>,
    /// The cover letter's subject, if given.
    pub cover_subject: Option<String>,
    /// The cover letter's body.
    pub cover_body: Vec<String>,
    /// The commits, in order.
    pub commits: Vec<CommitSpec>,
}

/// Where a `|` body line goes.
enum BodyTarget {
    None,
    Cover,
    Commit,
}

impl Manifest {
    /// Parses the manifest text; errors name the line.
    pub fn parse(text: &str) -> Result<Manifest> {
        let mut m = Manifest::default();
        let mut target = BodyTarget::None;
        let mut seen = BTreeSet::new();
        for (n, raw) in text.lines().enumerate() {
            let n = n + 1;
            let line = raw.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('|') {
                let text = rest.strip_prefix(' ').unwrap_or(rest).to_string();
                match target {
                    BodyTarget::Cover => m.cover_body.push(text),
                    BodyTarget::Commit => {
                        if let Some(c) = m.commits.last_mut() {
                            c.body.push(text);
                        }
                    }
                    BodyTarget::None => {
                        bail!("linux/series:{n}: a `|` body line outside a commit or cover")
                    }
                }
                continue;
            }
            let (key, value) = match line.split_once(':') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (line.trim(), ""),
            };
            match key {
                "author" => {
                    if !(value.contains('<') && value.ends_with('>')) {
                        bail!("linux/series:{n}: author must be `Name <email>`");
                    }
                    m.author = Some(value.to_string());
                }
                "cover" => {
                    m.cover_subject = Some(value.to_string());
                    target = BodyTarget::Cover;
                }
                "commit" => {
                    if !is_kernel_subject(value) {
                        bail!(
                            "linux/series:{n}: subject `{value}` is not in kernel style \
                             `subsystem: summary`"
                        );
                    }
                    m.commits.push(CommitSpec {
                        subject: value.to_string(),
                        body: Vec::new(),
                        items: Vec::new(),
                    });
                    target = BodyTarget::Commit;
                }
                "overlay" | "patch" => {
                    let item = if key == "overlay" {
                        Item::Overlay(clean_rel(value, n)?)
                    } else {
                        Item::Patch(clean_rel(value, n)?)
                    };
                    // What the item puts in the tree may be listed once.
                    if !seen.insert(format!("{item:?}")) {
                        bail!("linux/series:{n}: {key} {value} is listed twice");
                    }
                    match m.commits.last_mut() {
                        Some(c) => c.items.push(item),
                        None => bail!("linux/series:{n}: `{key}` before the first `commit:`"),
                    }
                }
                _ => bail!(
                    "linux/series:{n}: unknown line `{line}` (expected author:, cover:, commit:, \
                     |, overlay: or patch:)"
                ),
            }
        }
        for c in m.commits.iter_mut() {
            while c.body.last().is_some_and(|l| l.trim().is_empty()) {
                c.body.pop();
            }
            if c.items.is_empty() {
                bail!("linux/series: commit `{}` contains nothing", c.subject);
            }
        }
        while m.cover_body.last().is_some_and(|l| l.trim().is_empty()) {
            m.cover_body.pop();
        }
        Ok(m)
    }

    /// The commit message of `c`, signed off by `author`.
    pub fn message(c: &CommitSpec, author: &str) -> String {
        let mut msg = c.subject.clone();
        msg.push('\n');
        if !c.body.is_empty() {
            msg.push('\n');
            for l in &c.body {
                msg.push_str(l);
                msg.push('\n');
            }
        }
        let sob = format!("Signed-off-by: {author}");
        if !c.body.iter().any(|l| l.trim() == sob) {
            msg.push('\n');
            msg.push_str(&sob);
            msg.push('\n');
        }
        msg
    }
}

/// `subsystem: summary` with a non-empty subsystem and summary and no trailing period.
fn is_kernel_subject(s: &str) -> bool {
    match s.split_once(": ") {
        Some((subsystem, summary)) => {
            !subsystem.is_empty()
                && !subsystem.contains(' ')
                && !summary.trim().is_empty()
                && !s.ends_with('.')
        }
        None => false,
    }
}

/// A relative path without `..`.
fn clean_rel(value: &str, n: usize) -> Result<String> {
    let value = value.trim_end_matches('/');
    if value.is_empty() || value.starts_with('/') || value.split('/').any(|c| c == "..") {
        bail!("linux/series:{n}: `{value}` must be a relative path inside its directory");
    }
    Ok(value.to_string())
}

/// The lab's inputs under `linux/`.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// The manifest, `linux/series`.
    pub series: PathBuf,
    /// The overlay, `linux/tree/`.
    pub overlay: PathBuf,
    /// The patches, `linux/patches/`.
    pub patches: PathBuf,
}

impl Inputs {
    /// The repository's own inputs.
    pub fn new() -> Inputs {
        let root = util::workspace_root();
        Inputs {
            series: root.join("linux/series"),
            overlay: root.join("linux/tree"),
            patches: root.join("linux/patches"),
        }
    }
}

/// Every file under `dir` (recursively), as paths relative to `base`, sorted.
fn files_under(dir: &Path, base: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if dir.is_file() {
        let rel = dir.strip_prefix(base).unwrap_or(dir);
        out.push(rel.to_string_lossy().into_owned());
        return Ok(out);
    }
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .context(format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        out.extend(files_under(&path, base)?);
    }
    Ok(out)
}

/// A git command in `tree` that works on the private index `index`.
fn git_idx(tree: &Tree, index: &Path) -> Command {
    let mut cmd = tree.git();
    cmd.env("GIT_INDEX_FILE", index);
    cmd
}

/// Adds `file` to the private index at `dest`.
fn stage_file(tree: &Tree, index: &Path, file: &Path, dest: &str) -> Result<()> {
    let blob = util::capture(tree.git().arg("hash-object").arg("-w").arg(file))?;
    let mode = fs::metadata(file)
        .context(format!("cannot read {}", file.display()))?
        .permissions()
        .mode();
    let mode = if mode & 0o111 != 0 {
        "100755"
    } else {
        "100644"
    };
    util::capture(git_idx(tree, index).args([
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("{mode},{},{dest}", blob.trim()),
    ]))?;
    Ok(())
}

/// Finds, in `patch`, the hunk of `file` whose old range starts at `line`: its number (from 1)
/// and its `@@` header.
pub fn find_hunk(patch: &str, file: &str, line: u64) -> Option<(usize, String)> {
    let mut current = String::new();
    let mut n = 0;
    for l in patch.lines() {
        if let Some(path) = l.strip_prefix("--- ") {
            current = path.strip_prefix("a/").unwrap_or(path).to_string();
            n = 0;
        } else if let Some(path) = l.strip_prefix("+++ ") {
            let path = path.strip_prefix("b/").unwrap_or(path);
            if path != "/dev/null" {
                current = path.to_string();
            }
        } else if l.starts_with("@@ ") {
            n += 1;
            let start = l
                .strip_prefix("@@ -")
                .and_then(|r| r.split([',', ' ']).next())
                .and_then(|s| s.parse::<u64>().ok());
            if current == file && start == Some(line) {
                return Some((n, l.to_string()));
            }
        }
    }
    None
}

/// Applies `patch` to the private index; a failure names the patch, the file and the hunk.
fn apply_patch(tree: &Tree, index: &Path, patch: &Path) -> Result<()> {
    let out = git_idx(tree, index)
        .args(["apply", "--cached", "--whitespace=nowarn"])
        .arg(patch)
        .stdin(Stdio::null())
        .output()
        .context("cannot run git apply")?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = util::read(patch).unwrap_or_default();
    let mut msg = format!(
        "patch {} does not apply:\n{}",
        patch.display(),
        stderr.trim_end()
    );
    for l in stderr.lines() {
        let Some(at) = l.trim().strip_prefix("error: patch failed: ") else {
            continue;
        };
        let Some((file, line)) = at.rsplit_once(':') else {
            continue;
        };
        if let Some((n, header)) = line.parse().ok().and_then(|ln| find_hunk(&text, file, ln)) {
            msg.push_str(&format!("\nfailing hunk: #{n} of {file}: {header}"));
        }
    }
    Err(util::Error(msg))
}

/// The author and date of the commits: `author:` of the manifest or the workspace's last commit
/// author, and that commit's date (so the same inputs give the same commits).
fn ident(manifest: &Manifest) -> Result<(String, String, String)> {
    let root = util::workspace_root();
    let head = util::capture(Command::new("git").arg("-C").arg(&root).args([
        "log",
        "-1",
        "--format=%an%x00%ae%x00%cI",
    ]))
    .unwrap_or_default();
    let fields: Vec<&str> = head.trim().split('\0').collect();
    let (mut name, mut email, date) = match fields.as_slice() {
        [n, e, d] => (n.to_string(), e.to_string(), d.to_string()),
        _ => (
            "rkasan".to_string(),
            "rkasan@localhost".to_string(),
            "2026-01-01T00:00:00+00:00".to_string(),
        ),
    };
    if let Some(author) = &manifest.author {
        if let Some((n, e)) = author.rsplit_once('<') {
            name = n.trim().to_string();
            email = e.trim_end_matches('>').to_string();
        }
    }
    Ok((name, email, date))
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs::new()
    }
}

/// Reads and parses the manifest.
pub fn load_manifest(inputs: &Inputs) -> Result<Manifest> {
    if !inputs.series.is_file() {
        bail!("no manifest at {}", inputs.series.display());
    }
    Manifest::parse(&util::read(&inputs.series)?)
}

/// setup, source and apply: what a build needs, each quick when already done.
pub fn prepare(tree: &Tree) -> Result<()> {
    if tree.custom || tree.exists() {
        tree.version()?;
    }
    let existing = tree.exists().then_some(tree);
    setup::setup(existing)?;
    tree::source(tree)?;
    if existing.is_none() {
        setup::check_rust_available(tree)?;
    }
    apply(tree)
}

/// `cargo xtask apply`: recreates the branch `rkasan` from the base commit, one commit per
/// manifest entry, and checks it out.
///
/// The commits are built on a private index (`git apply --cached`, `git write-tree`, `git
/// commit-tree`) without touching the working tree; the final checkout then rewrites only the
/// files that differ, so unchanged files keep their timestamps and rebuilds stay incremental.
pub fn apply(tree: &Tree) -> Result<()> {
    apply_with(tree, &Inputs::new()).map(|_| ())
}

/// [`apply`] with the given inputs; returns the branch's new head.
pub fn apply_with(tree: &Tree, inputs: &Inputs) -> Result<String> {
    let manifest = load_manifest(inputs)?;
    let base = tree.base()?;
    tree.ensure_clean()?;
    let step = Step::start(
        format!(
            "apply: {} commit(s) on branch {BRANCH} of {}",
            manifest.commits.len(),
            tree.path.display()
        ),
        None,
    );
    warn_unlisted(inputs, &manifest)?;
    let (name, email, date) = ident(&manifest)?;
    let signer = format!("{name} <{email}>");
    let git_dir = tree.git_out(&["rev-parse", "--absolute-git-dir"])?;
    let index = Path::new(&git_dir).join("rkasan-index");
    let _ = fs::remove_file(&index);
    util::capture(git_idx(tree, &index).args(["read-tree", &base]))?;
    let mut parent = base.clone();
    let mut parent_tree = tree.git_out(&["rev-parse", &format!("{base}^{{tree}}")])?;
    for c in &manifest.commits {
        for item in &c.items {
            match item {
                Item::Overlay(rel) => {
                    let src = inputs.overlay.join(rel);
                    let files = files_under(&src, &inputs.overlay)?;
                    if files.is_empty() {
                        bail!(
                            "commit `{}`: overlay {rel}: no file at {}",
                            c.subject,
                            src.display()
                        );
                    }
                    for f in files {
                        stage_file(tree, &index, &inputs.overlay.join(&f), &f)?;
                    }
                }
                Item::Patch(name) => {
                    let patch = inputs.patches.join(name);
                    if !patch.is_file() {
                        bail!("commit `{}`: no patch at {}", c.subject, patch.display());
                    }
                    apply_patch(tree, &index, &patch)
                        .map_err(|e| util::Error(format!("commit `{}`: {e}", c.subject)))?;
                }
            }
        }
        let new_tree = util::capture(git_idx(tree, &index).arg("write-tree"))?
            .trim()
            .to_string();
        if new_tree == parent_tree {
            bail!("commit `{}` changes nothing in the tree", c.subject);
        }
        let mut cmd = tree.git();
        git_ident(&mut cmd, &name, &email, &date);
        let mut child = cmd
            .args(["commit-tree", &new_tree, "-p", &parent, "-F", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run git commit-tree")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(Manifest::message(c, &signer).as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "git commit-tree failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        parent = String::from_utf8_lossy(&out.stdout).trim().to_string();
        parent_tree = new_tree;
        eprintln!("    {} {}", &parent[..12.min(parent.len())], c.subject);
    }
    let _ = fs::remove_file(&index);
    util::capture(tree.git().args(["checkout", "-q", "-B", BRANCH, &parent]))?;
    step.done();
    Ok(parent)
}

/// Warns about overlay files and patches that no commit lists: they would not
/// reach the tree.
fn warn_unlisted(inputs: &Inputs, manifest: &Manifest) -> Result<()> {
    for w in unlisted(inputs, manifest)? {
        eprintln!("    warning: {w} is in no commit of linux/series: not applied");
    }
    Ok(())
}

/// The inputs no commit of `manifest` lists, as `linux/tree/PATH` and `linux/patches/NAME`.
fn unlisted(inputs: &Inputs, manifest: &Manifest) -> Result<Vec<String>> {
    let items: Vec<&Item> = manifest.commits.iter().flat_map(|c| &c.items).collect();
    let mut out = Vec::new();
    for f in files_under(&inputs.overlay, &inputs.overlay)? {
        let listed = items.iter().any(|i| match i {
            Item::Overlay(rel) => f == *rel || f.starts_with(&format!("{rel}/")),
            _ => false,
        });
        if !listed {
            out.push(format!("linux/tree/{f}"));
        }
    }
    for f in files_under(&inputs.patches, &inputs.patches)? {
        if f.ends_with(".patch") && !items.contains(&&Item::Patch(f.clone())) {
            out.push(format!("linux/patches/{f}"));
        }
    }
    Ok(out)
}

/// `cargo xtask export`: the branch as `git format-patch` output with a cover letter.
pub fn export(tree: &Tree) -> Result<()> {
    let base = tree.base()?;
    let version = tree.version()?;
    if tree
        .git_out(&[
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{BRANCH}"),
        ])
        .is_err()
    {
        bail!(
            "{} has no branch {BRANCH}: run `cargo xtask apply{}` first",
            tree.path.display(),
            tree.tree_arg()
        );
    }
    let manifest = load_manifest(&Inputs::new())?;
    let (name, email, date) = ident(&manifest)?;
    let dir = util::out_dir().join("series");
    if dir.exists() {
        fs::remove_dir_all(&dir).context(format!("cannot remove {}", dir.display()))?;
    }
    util::mkdir(&dir)?;
    let mut cmd = tree.git();
    git_ident(&mut cmd, &name, &email, &date);
    cmd.args(["format-patch", "--cover-letter", "-o"])
        .arg(&dir)
        .arg(format!("{base}..{BRANCH}"));
    let files = util::capture(&mut cmd)?;
    let base_subject = tree.git_out(&["log", "-1", "--format=%s", &base])?;
    let cover = dir.join("0000-cover-letter.patch");
    if cover.is_file() {
        let subject = manifest
            .cover_subject
            .clone()
            .unwrap_or_else(|| "kasan: the KASAN runtime in Rust".to_string());
        let mut blurb = manifest.cover_body.join("\n");
        if !blurb.is_empty() {
            blurb.push_str("\n\n");
        }
        blurb.push_str(&format!("Based on {base_subject}."));
        let text = util::read(&cover)?
            .replace("*** SUBJECT HERE ***", &subject)
            .replace("*** BLURB HERE ***", &blurb);
        util::write(&cover, text)?;
    }
    let count = files.lines().count();
    eprintln!(
        "==> export: {count} file(s) in {} (Linux {version}, base {base_subject})",
        dir.display()
    );
    for f in files.lines() {
        println!("{f}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# comment
author: Jane Doe <jane@example.org>
cover: kasan: a Rust runtime
| Line one.
|
| Line three.

commit: mm/kasan: import the rkasan core
| The core crate's modules.
|
overlay: mm/kasan/rkasan/shadow.rs
commit: kasan: add CONFIG_KASAN_RUST
overlay: mm/kasan/rkasan
patch: 0001-kasan-kconfig.patch
";

    #[test]
    fn parses_manifest() {
        let m = Manifest::parse(SAMPLE).unwrap();
        assert_eq!(m.author.as_deref(), Some("Jane Doe <jane@example.org>"));
        assert_eq!(m.cover_subject.as_deref(), Some("kasan: a Rust runtime"));
        assert_eq!(m.cover_body, ["Line one.", "", "Line three."]);
        assert_eq!(m.commits.len(), 2);
        assert_eq!(m.commits[0].subject, "mm/kasan: import the rkasan core");
        assert_eq!(m.commits[0].body, ["The core crate's modules."]);
        assert_eq!(
            m.commits[0].items,
            [Item::Overlay("mm/kasan/rkasan/shadow.rs".into())]
        );
        assert_eq!(
            m.commits[1].items,
            [
                Item::Overlay("mm/kasan/rkasan".into()),
                Item::Patch("0001-kasan-kconfig.patch".into())
            ]
        );
        let msg = Manifest::message(&m.commits[0], "Jane Doe <jane@example.org>");
        assert_eq!(
            msg,
            "mm/kasan: import the rkasan core\n\nThe core crate's modules.\n\n\
             Signed-off-by: Jane Doe <jane@example.org>\n"
        );
        let msg = Manifest::message(&m.commits[1], "J <j@x>");
        assert_eq!(
            msg,
            "kasan: add CONFIG_KASAN_RUST\n\nSigned-off-by: J <j@x>\n"
        );
    }

    #[test]
    fn rejects_bad_manifests() {
        let err = |t: &str| Manifest::parse(t).unwrap_err().0;
        assert!(err("commit: no subsystem here\npatch: p\n").contains("kernel style"));
        assert!(err("patch: p\n").contains("before the first `commit:`"));
        assert!(err("commit: a: b\n").contains("contains nothing"));
        assert!(err("commit: a: b\npatch: p\ncommit: c: d\npatch: p\n").contains("listed twice"));
        assert!(err("commit: a: b\noverlay: mm/x.rs\noverlay: mm/x.rs\n").contains("listed twice"));
        assert!(err("commit: a: b\noverlay: ../etc\n").contains("relative path"));
        assert!(err("commit: a: b\nfrobnicate: x\n").contains("unknown line"));
        assert!(err("| stray\n").contains("outside"));
        // The shipped manifest parses.
        let shipped = util::read(&util::workspace_root().join("linux/series")).unwrap();
        Manifest::parse(&shipped).unwrap();
    }

    #[test]
    fn finds_failing_hunk() {
        let patch = "\
From abc Mon Sep 17 00:00:00 2001
Subject: [PATCH] kasan: x
---
diff --git a/lib/Kconfig.kasan b/lib/Kconfig.kasan
--- a/lib/Kconfig.kasan
+++ b/lib/Kconfig.kasan
@@ -10,6 +10,7 @@ config A
 x
@@ -42,7 +43,9 @@ config B
 y
diff --git a/mm/kasan/Makefile b/mm/kasan/Makefile
--- a/mm/kasan/Makefile
+++ b/mm/kasan/Makefile
@@ -42 +42,2 @@
 z
";
        let (n, h) = find_hunk(patch, "lib/Kconfig.kasan", 42).unwrap();
        assert_eq!(n, 2);
        assert_eq!(h, "@@ -42,7 +43,9 @@ config B");
        assert_eq!(find_hunk(patch, "mm/kasan/Makefile", 42).unwrap().0, 1);
        assert!(find_hunk(patch, "mm/kasan/Makefile", 7).is_none());
    }

    /// A scratch directory unique to this test process.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn apply_is_reproducible_and_names_failing_hunks() {
        let dir = scratch("apply");
        let kernel = dir.join("linux");
        let w = |p: &Path, t: &str| {
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, t).unwrap();
        };
        w(
            &kernel.join("Makefile"),
            "VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 9\nEXTRAVERSION =\n",
        );
        w(&kernel.join("lib/Kconfig.kasan"), "config KASAN\n\tbool\n");
        let tree = Tree {
            path: kernel.clone(),
            custom: true,
        };
        crate::tree::source(&tree).unwrap();
        let inputs = Inputs {
            series: dir.join("series"),
            overlay: dir.join("overlay"),
            patches: dir.join("patches"),
        };
        let core = inputs.overlay.join("mm/kasan/rkasan");
        w(&core.join("shadow.rs"), "//! shadow\n");
        w(&core.join("tags.rs"), "//! tags\n");
        w(&core.join("unused.rs"), "//! unused\n");
        w(&inputs.overlay.join("mm/kasan/rkasan.rs"), "//! glue\n");
        w(
            &inputs.patches.join("kconfig.patch"),
            "--- a/lib/Kconfig.kasan\n+++ b/lib/Kconfig.kasan\n@@ -1,2 +1,4 @@\n config KASAN\n \tbool\n+\n+config KASAN_RUST\n",
        );
        w(
            &inputs.series,
            "commit: mm/kasan: import the core\noverlay: mm/kasan/rkasan/shadow.rs\n\
             commit: kasan: add the Rust runtime\n| Body.\noverlay: mm/kasan/rkasan.rs\n\
             patch: kconfig.patch\noverlay: mm/kasan/rkasan/tags.rs\n",
        );
        let manifest = load_manifest(&inputs).unwrap();
        assert_eq!(
            unlisted(&inputs, &manifest).unwrap(),
            ["linux/tree/mm/kasan/rkasan/unused.rs"],
            "the file no commit lists is named"
        );
        let first = apply_with(&tree, &inputs).unwrap();
        let second = apply_with(&tree, &inputs).unwrap();
        assert_eq!(first, second, "re-applying gives the same commits");
        assert_eq!(
            tree.git_out(&["symbolic-ref", "--short", "HEAD"]).unwrap(),
            BRANCH
        );
        assert_eq!(
            fs::read_to_string(kernel.join("mm/kasan/rkasan/shadow.rs")).unwrap(),
            "//! shadow\n"
        );
        assert!(!kernel.join("mm/kasan/rkasan/unused.rs").exists());
        // Each commit adds only its own modules.
        let files_of = |rev: &str| {
            tree.git_out(&["ls-tree", "-r", "--name-only", rev, "mm/kasan/rkasan"])
                .unwrap()
        };
        assert_eq!(files_of("HEAD~1"), "mm/kasan/rkasan/shadow.rs");
        assert_eq!(
            files_of("HEAD"),
            "mm/kasan/rkasan/shadow.rs\nmm/kasan/rkasan/tags.rs"
        );
        assert!(kernel.join("mm/kasan/rkasan.rs").is_file());
        assert!(crate::kunit::has_kasan_rust(&tree).unwrap());
        let log = tree
            .git_out(&["log", "--format=%s", "refs/rkasan/base.."])
            .unwrap();
        assert_eq!(
            log,
            "kasan: add the Rust runtime\nmm/kasan: import the core"
        );

        // A dirty tree is refused.
        w(&kernel.join("junk"), "x");
        assert!(apply_with(&tree, &inputs)
            .unwrap_err()
            .0
            .contains("uncommitted changes"));
        fs::remove_file(kernel.join("junk")).unwrap();

        // A hunk that does not apply is named.
        w(
            &inputs.patches.join("kconfig.patch"),
            "--- a/lib/Kconfig.kasan\n+++ b/lib/Kconfig.kasan\n@@ -1,2 +1,3 @@\n config KASAN_NOPE\n \tbool\n+x\n",
        );
        let err = apply_with(&tree, &inputs).unwrap_err().0;
        assert!(
            err.contains("commit `kasan: add the Rust runtime`"),
            "{err}"
        );
        assert!(err.contains("patch failed: lib/Kconfig.kasan:1"), "{err}");
        assert!(
            err.contains("failing hunk: #1 of lib/Kconfig.kasan: @@ -1,2 +1,3 @@"),
            "{err}"
        );
        // The failed apply left the branch as it was.
        assert_eq!(tree.git_out(&["rev-parse", "HEAD"]).unwrap(), first);
        let _ = fs::remove_dir_all(&dir);
    }
}
