// SPDX-License-Identifier: GPL-2.0

//! The kernel tree: which one (the lab's own under the cache, or the user's), its version, and
//! `cargo xtask source`, which fetches Debian's linux-source-7.2 and makes it a git repository.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::toolchain;
use crate::util::{self, bail, Context, Result, Step};

/// The ref that marks the commit `apply` builds the `rkasan` branch on.
pub const BASE_REF: &str = "refs/rkasan/base";
/// The Debian package with the kernel sources.
const PACKAGE: &str = "linux-source-7.2";
/// The identity of the base commit the lab makes.
const LAB_IDENT: (&str, &str) = ("rkasan lab", "rkasan-lab@localhost");

/// A kernel version from the top-level Makefile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelVersion {
    /// VERSION.
    pub version: u32,
    /// PATCHLEVEL.
    pub patchlevel: u32,
    /// SUBLEVEL.
    pub sublevel: u32,
    /// EXTRAVERSION (usually empty).
    pub extra: String,
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.version, self.patchlevel)?;
        if self.sublevel != 0 {
            write!(f, ".{}", self.sublevel)?;
        }
        f.write_str(&self.extra)
    }
}

impl KernelVersion {
    /// Parses the `VERSION = ...` lines at the top of a kernel Makefile.
    pub fn from_makefile(text: &str) -> Option<KernelVersion> {
        let field = |name: &str| -> Option<String> {
            text.lines().take(20).find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
        };
        Some(KernelVersion {
            version: field("VERSION")?.parse().ok()?,
            patchlevel: field("PATCHLEVEL")?.parse().ok()?,
            sublevel: field("SUBLEVEL")?.parse().unwrap_or(0),
            extra: field("EXTRAVERSION").unwrap_or_default(),
        })
    }

    /// True for any 7.2.y.
    pub fn is_7_2(&self) -> bool {
        self.version == 7 && self.patchlevel == 2
    }
}

/// A kernel tree the lab works on.
#[derive(Clone, Debug)]
pub struct Tree {
    /// Its top directory.
    pub path: PathBuf,
    /// True when the user named it (`--tree` or `RKASAN_TREE`); false for the lab's own.
    pub custom: bool,
}

impl Tree {
    /// The tree named by `--tree`, else `$RKASAN_TREE`, else the lab's own `$CACHE/linux`.
    pub fn resolve(option: Option<&Path>) -> Result<Tree> {
        if let Some(path) = option {
            return Ok(Tree {
                path: absolute(path)?,
                custom: true,
            });
        }
        if let Some(path) = std::env::var_os("RKASAN_TREE").filter(|p| !p.is_empty()) {
            return Ok(Tree {
                path: absolute(Path::new(&path))?,
                custom: true,
            });
        }
        Ok(Tree {
            path: util::cache_dir()?.join("linux"),
            custom: false,
        })
    }

    /// True when the tree's directory exists.
    pub fn exists(&self) -> bool {
        self.path.join("Makefile").is_file()
    }

    /// The tree's kernel version; an error when it is missing or not 7.2.
    pub fn version(&self) -> Result<KernelVersion> {
        let makefile = self.path.join("Makefile");
        if !makefile.is_file() {
            if self.custom {
                bail!("{} is not a kernel tree (no Makefile)", self.path.display());
            }
            bail!(
                "no kernel tree at {}: run `cargo xtask source` first",
                self.path.display()
            );
        }
        let Some(version) = KernelVersion::from_makefile(&util::read(&makefile)?) else {
            bail!(
                "{} has no VERSION/PATCHLEVEL: not a kernel tree",
                makefile.display()
            );
        };
        if !version.is_7_2() {
            bail!(
                "{} is Linux {version}, not 7.2: rkasan targets Linux 7.2 (any 7.2.y)",
                self.path.display()
            );
        }
        Ok(version)
    }

    /// A `git` command in the tree.
    pub fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.path);
        cmd
    }

    /// Runs git in the tree and returns its trimmed stdout.
    pub fn git_out(&self, args: &[&str]) -> Result<String> {
        Ok(util::capture(self.git().args(args))?.trim().to_string())
    }

    /// True when the tree is the top of a git repository.
    pub fn is_git_repo(&self) -> bool {
        self.git_out(&["rev-parse", "--show-toplevel"])
            .ok()
            .and_then(|top| fs::canonicalize(top).ok())
            .zip(fs::canonicalize(&self.path).ok())
            .is_some_and(|(a, b)| a == b)
    }

    /// The commit `apply` builds on; an error telling what to do when there is none.
    pub fn base(&self) -> Result<String> {
        self.version()?;
        if !self.is_git_repo() {
            bail!(
                "{} is not a git repository: run `cargo xtask source{}` first",
                self.path.display(),
                self.tree_arg()
            );
        }
        match self.git_out(&[
            "rev-parse",
            "--verify",
            "-q",
            &format!("{BASE_REF}^{{commit}}"),
        ]) {
            Ok(base) if !base.is_empty() => Ok(base),
            _ => bail!(
                "{} has no {BASE_REF}: run `cargo xtask source{}` first",
                self.path.display(),
                self.tree_arg()
            ),
        }
    }

    /// `" --tree PATH"` for messages about a custom tree.
    pub fn tree_arg(&self) -> String {
        if self.custom {
            format!(" --tree {}", self.path.display())
        } else {
            String::new()
        }
    }

    /// Refuses a tree with uncommitted changes or untracked files.
    pub fn ensure_clean(&self) -> Result<()> {
        let status = self.git_out(&["status", "--porcelain", "--untracked-files=normal"])?;
        if !status.is_empty() {
            let lines: Vec<&str> = status.lines().collect();
            let shown = lines
                .iter()
                .take(10)
                .copied()
                .collect::<Vec<_>>()
                .join("\n  ");
            let more = if lines.len() > 10 {
                format!("\n  ... and {} more", lines.len() - 10)
            } else {
                String::new()
            };
            bail!(
                "the kernel tree {} has uncommitted changes; commit, stash or remove them \
                 (for example `git -C {} stash -u`) and retry:\n  {shown}{more}",
                self.path.display(),
                self.path.display()
            );
        }
        Ok(())
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()?.join(path))
}

/// Sets the environment of a git command that makes commits: a fixed identity and date, so the
/// same inputs give the same commits.
pub fn git_ident(cmd: &mut Command, name: &str, email: &str, date: &str) {
    cmd.env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", email)
        .env("GIT_COMMITTER_DATE", date);
}

/// `cargo xtask source`.
pub fn source(tree: &Tree) -> Result<()> {
    if tree.custom {
        return adopt(tree);
    }
    if tree.exists() {
        let version = tree.version()?;
        let base = tree.base().map_err(|e| {
            util::Error(format!(
                "{e}\n(the lab's tree looks incomplete: remove {} and run `cargo xtask source` \
                 again)",
                tree.path.display()
            ))
        })?;
        let subject = tree.git_out(&["log", "-1", "--format=%s", &base])?;
        eprintln!(
            "==> source: Linux {version} already at {} (base {}: {subject})",
            tree.path.display(),
            &base[..12.min(base.len())]
        );
        return Ok(());
    }
    let step = Step::start(
        format!("source: {PACKAGE} into {}", tree.path.display()),
        None,
    );
    let deb = find_or_download_deb()?;
    let log = util::fresh_log("source")?;
    let debian_version =
        util::capture(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Version"))?
            .trim()
            .to_string();
    let tmp = tree.path.with_extension("tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).context(format!("cannot remove {}", tmp.display()))?;
    }
    util::mkdir(&tmp.join("deb"))?;
    let extract = Step::start(format!("extract {}", deb.display()), None);
    // dpkg-deb --fsys-tarfile DEB | tar -x -C TMP/deb
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(&deb)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run dpkg-deb")?;
    let Some(pipe) = dpkg.stdout.take() else {
        bail!("dpkg-deb gave no output");
    };
    let tar_status = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(tmp.join("deb"))
        .stdin(Stdio::from(pipe))
        .status()
        .context("cannot run tar")?;
    let dpkg_status = dpkg.wait()?;
    if !tar_status.success() || !dpkg_status.success() {
        bail!(
            "cannot unpack {} (dpkg-deb: {dpkg_status}, tar: {tar_status})",
            deb.display()
        );
    }
    let tarball = tmp.join("deb/usr/src").join(format!("{PACKAGE}.tar.xz"));
    util::run_logged(
        Command::new("tar")
            .arg("-xJf")
            .arg(&tarball)
            .arg("-C")
            .arg(&tmp),
        &log,
    )?;
    extract.done();
    let top = tmp.join(PACKAGE);
    let new = Tree {
        path: top.clone(),
        custom: false,
    };
    let version = new.version()?;
    let subject = format!("Linux {version} (Debian {PACKAGE} {debian_version})");
    make_base_commit(&new, &subject, &log)?;
    fs::rename(&top, &tree.path).context(format!(
        "cannot move {} to {}",
        top.display(),
        tree.path.display()
    ))?;
    fs::remove_dir_all(&tmp).context(format!("cannot remove {}", tmp.display()))?;
    step.done();
    eprintln!("    {}: {subject}", tree.path.display());
    Ok(())
}

/// Makes `tree` a git repository with one commit of everything in it, marked as the base.
fn make_base_commit(tree: &Tree, subject: &str, log: &Path) -> Result<()> {
    let step = Step::start("git: base commit", Some(&format!("log: {}", log.display())));
    util::run_logged(tree.git().args(["init", "-q", "-b", "master"]), log)?;
    for (key, value) in [
        ("core.autocrlf", "false"),
        ("gc.auto", "0"),
        ("user.name", LAB_IDENT.0),
        ("user.email", LAB_IDENT.1),
    ] {
        util::run_logged(tree.git().args(["config", key, value]), log)?;
    }
    // -f: the tree as shipped, even files its own .gitignore would skip.
    util::run_logged(tree.git().args(["add", "-f", "-A", "."]), log)?;
    // The date of the top Makefile as shipped keeps the commit reproducible.
    let date = fs::metadata(tree.path.join("Makefile"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let mut commit = tree.git();
    git_ident(
        &mut commit,
        LAB_IDENT.0,
        LAB_IDENT.1,
        &format!("@{date} +0000"),
    );
    commit.args(["commit", "-q", "--no-verify", "-m", subject]);
    util::run_logged(&mut commit, log)?;
    util::run_logged(tree.git().args(["update-ref", BASE_REF, "HEAD"]), log)?;
    step.done();
    Ok(())
}

/// `source --tree PATH`: checks the user's tree and records its base commit (making it a git
/// repository first if it is not one).
fn adopt(tree: &Tree) -> Result<()> {
    let version = tree.version()?;
    if !tree.is_git_repo() {
        let log = util::fresh_log("source")?;
        make_base_commit(tree, &format!("Linux {version}"), &log)?;
    } else if tree.base().is_err() {
        let head = tree
            .git_out(&["symbolic-ref", "-q", "--short", "HEAD"])
            .unwrap_or_default();
        if head == "rkasan" {
            bail!(
                "{} is on branch rkasan but has no {BASE_REF}: check out the commit rkasan \
                 should build on and run `cargo xtask source --tree {}` again",
                tree.path.display(),
                tree.path.display()
            );
        }
        tree.git_out(&["update-ref", BASE_REF, "HEAD"])?;
    }
    let base = tree.base()?;
    let subject = tree.git_out(&["log", "-1", "--format=%s", &base])?;
    eprintln!(
        "==> source: Linux {version} at {} (base {}: {subject})",
        tree.path.display(),
        &base[..12.min(base.len())]
    );
    Ok(())
}

/// The private apt configuration: Debian's sid and trixie-backports, without touching the
/// system's sources.
fn apt_config() -> Result<PathBuf> {
    let a = util::cache_dir()?.join("apt");
    for dir in [
        "lists/partial",
        "cache/archives/partial",
        "etc/sources.list.d",
        "etc/preferences.d",
    ] {
        util::mkdir(&a.join(dir))?;
    }
    util::write(
        &a.join("etc/sources.list"),
        "deb http://deb.debian.org/debian trixie-backports main\n\
         deb http://deb.debian.org/debian sid main\n",
    )?;
    let d = a.display();
    let conf = format!(
        "Dir::Etc::SourceList \"{d}/etc/sources.list\";\n\
         Dir::Etc::SourceParts \"{d}/etc/sources.list.d\";\n\
         Dir::Etc::Preferences \"{d}/etc/preferences\";\n\
         Dir::Etc::PreferencesParts \"{d}/etc/preferences.d\";\n\
         Dir::State::Lists \"{d}/lists\";\n\
         Dir::Cache \"{d}/cache\";\n\
         Dir::State::status \"/dev/null\";\n\
         Acquire::Languages \"none\";\n\
         APT::Architecture \"amd64\";\n\
         APT::Sandbox::User \"root\";\n"
    );
    let path = a.join("apt.conf");
    util::write(&path, conf)?;
    Ok(path)
}

/// True when Debian version `a` is newer than `b` (by `dpkg --compare-versions`).
fn newer(a: &str, b: &str) -> bool {
    Command::new("dpkg")
        .args(["--compare-versions", a, "gt", b])
        .status()
        .is_ok_and(|s| s.success())
}

/// The newest `linux-source-7.2_*.deb` in the download cache, or a fresh download of the newest
/// one sid or trixie-backports has.
fn find_or_download_deb() -> Result<PathBuf> {
    let dl = util::cache_dir()?.join("dl");
    util::mkdir(&dl)?;
    let mut best: Option<(String, PathBuf)> = None;
    for entry in fs::read_dir(&dl).context(format!("cannot read {}", dl.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Some(rest) = name.strip_prefix(&format!("{PACKAGE}_")) else {
            continue;
        };
        let Some(version) = rest.strip_suffix("_all.deb") else {
            continue;
        };
        let version = version.replace("%3a", ":");
        if best.as_ref().is_none_or(|(v, _)| newer(&version, v)) {
            best = Some((version, path));
        }
    }
    if let Some((version, path)) = best {
        eprintln!("    using cached {PACKAGE} {version}: {}", path.display());
        return Ok(path);
    }
    let conf = apt_config()?;
    let log = util::fresh_log("source-apt")?;
    let step = Step::start(
        format!("apt-get download {PACKAGE}"),
        Some(&format!("log: {}", log.display())),
    );
    toolchain::apt_update(
        Command::new("apt-get").env("APT_CONFIG", &conf),
        &log,
        "sid and trixie-backports",
    )?;
    let madison = util::capture(
        Command::new("apt-cache")
            .env("APT_CONFIG", &conf)
            .args(["madison", PACKAGE]),
    )?;
    let mut version: Option<String> = None;
    for line in madison.lines() {
        let Some(v) = line.split('|').nth(1).map(str::trim) else {
            continue;
        };
        if version.as_deref().is_none_or(|best| newer(v, best)) {
            version = Some(v.to_string());
        }
    }
    let Some(version) = version else {
        bail!(
            "neither sid nor trixie-backports has {PACKAGE} any more: use --tree with a 7.2 tree"
        );
    };
    util::run_logged(
        Command::new("apt-get")
            .env("APT_CONFIG", &conf)
            .current_dir(&dl)
            .args(["download", &format!("{PACKAGE}={version}")]),
        &log,
    )
    .map_err(|e| util::Error(format!("cannot download {PACKAGE} {version}: {e}")))?;
    step.done();
    let path = fs::read_dir(&dl)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{PACKAGE}_")))
        });
    match path {
        Some(path) => Ok(path),
        None => bail!(
            "apt-get download left no {PACKAGE}_*.deb in {}",
            dl.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makefile_version() {
        let text = "# SPDX-License-Identifier: GPL-2.0\nVERSION = 7\nPATCHLEVEL = 2\n\
                    SUBLEVEL = 13\nEXTRAVERSION =\nNAME = Baby Opossum Posse\n";
        let v = KernelVersion::from_makefile(text).unwrap();
        assert_eq!(v.to_string(), "7.2.13");
        assert!(v.is_7_2());
        let old = KernelVersion::from_makefile("VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\n");
        let old = old.unwrap();
        assert_eq!(old.to_string(), "6.12");
        assert!(!old.is_7_2());
        assert!(KernelVersion::from_makefile("all:\n\techo\n").is_none());
    }
}
