//! `cargo xtask dist [--profile dev|release]`: an installable release in `target/dist/`.
//!
//! Builds the plugins and the console, stages them (`target/dist/stage/embed/`: `plugins/`, the
//! Rust plugins of `plugins/` without the fault fixtures and the JavaScript and Python twins;
//! `console/`, the built console), and builds the `switchboard` binary with
//! `SWITCHBOARD_EMBED_DIR` pointing there, so the binary carries them (`host/build.rs`). Then
//! packs it twice:
//!
//! - `switchboard-VERSION-ARCH-linux.tar.gz`: the binary, the packaged configuration, the
//!   example flow, the systemd unit, the README, `production.md` (and LICENSE when there is one);
//! - `switchboard_VERSION_DEBARCH.deb`, built with `dpkg-deb --build`: `/usr/bin/switchboard`,
//!   `/etc/switchboard/switchboard.toml` and `/etc/switchboard/flows/support.yaml` (conffiles),
//!   `/lib/systemd/system/switchboard.service`, and the maintainer scripts of `xtask/dist/`.
//!
//! The packaged configuration is what `switchboard init` writes, with the installed paths:
//! state under `/var/lib/switchboard`, plugins and flows an admin adds under `/etc/switchboard`.
//!
//! `--profile dev` packs a debug binary (what `cargo xtask test-dist` installs: it reuses the
//! dependencies `cargo xtask test` built instead of a release build of wasmtime). It leaves the
//! embedding build in `target/debug/switchboard` until the next `cargo xtask test` builds the
//! test binary again (with the tests' features, without `SWITCHBOARD_EMBED_DIR`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

use crate::{PluginCrate, Workspace, build_console, build_plugins, find_plugin_crates, run, step};

const UNIT: &str = include_str!("../dist/switchboard.service");
const POSTINST: &str = include_str!("../dist/postinst");
const PRERM: &str = include_str!("../dist/prerm");
const POSTRM: &str = include_str!("../dist/postrm");

/// Where the package puts the configuration.
pub const CONFIG_PATH: &str = "/etc/switchboard/switchboard.toml";

/// The Cargo profile the binary is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Release,
}

impl Profile {
    /// The folder under `target/` the profile builds into.
    fn dir(self) -> &'static str {
        match self {
            Profile::Dev => "debug",
            Profile::Release => "release",
        }
    }
}

/// `dist`'s arguments.
pub struct Args {
    pub profile: Profile,
}

impl Args {
    pub fn parse(args: &[String]) -> anyhow::Result<Args> {
        let mut profile = Profile::Release;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let value = match arg.as_str() {
                "--profile" => args.next().context("--profile needs dev or release")?,
                other => match other.strip_prefix("--profile=") {
                    Some(value) => value,
                    None => bail!(
                        "dist: unexpected argument {other:?} (usage: dist [--profile dev|release])"
                    ),
                },
            };
            profile = match value {
                "dev" => Profile::Dev,
                "release" => Profile::Release,
                other => bail!("--profile {other:?}: dev or release"),
            };
        }
        Ok(Args { profile })
    }
}

/// What `dist` made.
pub struct Built {
    pub tarball: PathBuf,
    pub deb: PathBuf,
}

pub fn run_dist(ws: &Workspace, args: Args) -> anyhow::Result<ExitCode> {
    let built = build(ws, args.profile)?;
    println!("{}", built.tarball.display());
    println!("{}", built.deb.display());
    Ok(ExitCode::SUCCESS)
}

/// Builds everything and writes the tarball and the Debian package (see the module docs).
pub fn build(ws: &Workspace, profile: Profile) -> anyhow::Result<Built> {
    let plugins = build_plugins(ws)?;
    build_console(ws)?;
    let dist = ws.target.join("dist");
    let stage = dist.join("stage");
    if stage.exists() {
        fs::remove_dir_all(&stage).with_context(|| format!("cannot remove {}", stage.display()))?;
    }
    let embed = stage.join("embed");
    stage_plugins(ws, &plugins, &embed.join("plugins"))?;
    copy_dir(
        &ws.root.join("console").join("dist"),
        &embed.join("console"),
    )?;

    let mut cargo = ws.cargo();
    cargo.arg("build");
    if profile == Profile::Release {
        cargo.arg("--release");
    }
    cargo
        .args(["-p", "switchboard", "--bin", "switchboard"])
        .env("SWITCHBOARD_EMBED_DIR", &embed);
    run(&mut cargo)?;
    let binary = ws.bin(profile.dir(), "switchboard");

    let version = workspace_version(&ws.root)?;
    let example_flow = ws.root.join("flows").join("support.yaml");
    let config = packaged_config(&binary, &stage, &example_flow)?;
    let (arch, deb_arch) = architectures()?;

    let tar_name = format!("switchboard-{version}-{arch}-linux");
    let tar_root = stage.join(&tar_name);
    fs::create_dir_all(tar_root.join("flows"))?;
    copy_file(&binary, &tar_root.join("switchboard"))?;
    fs::write(tar_root.join("switchboard.toml"), &config)?;
    fs::write(tar_root.join("switchboard.service"), UNIT)?;
    copy_file(&example_flow, &tar_root.join("flows").join("support.yaml"))?;
    copy_file(&ws.root.join("README.md"), &tar_root.join("README.md"))?;
    copy_file(
        &ws.root.join("docs").join("production.md"),
        &tar_root.join("production.md"),
    )?;
    if let Some(license) = license(&ws.root) {
        copy_file(&license, &tar_root.join("LICENSE"))?;
    }
    let tarball = dist.join(format!("{tar_name}.tar.gz"));
    run(Command::new("tar")
        .arg("--create")
        .arg("--gzip")
        .arg("--owner=0")
        .arg("--group=0")
        .arg("--file")
        .arg(&tarball)
        .arg("--directory")
        .arg(&stage)
        .arg(&tar_name))?;

    let deb_root = stage.join("deb");
    let etc = deb_root.join("etc").join("switchboard");
    fs::create_dir_all(etc.join("flows"))?;
    fs::create_dir_all(deb_root.join("usr").join("bin"))?;
    fs::create_dir_all(deb_root.join("lib").join("systemd").join("system"))?;
    let doc = deb_root
        .join("usr")
        .join("share")
        .join("doc")
        .join("switchboard");
    fs::create_dir_all(&doc)?;
    copy_file(
        &binary,
        &deb_root.join("usr").join("bin").join("switchboard"),
    )?;
    fs::write(etc.join("switchboard.toml"), &config)?;
    copy_file(&example_flow, &etc.join("flows").join("support.yaml"))?;
    fs::write(
        deb_root.join("lib/systemd/system/switchboard.service"),
        UNIT,
    )?;
    copy_file(&ws.root.join("README.md"), &doc.join("README.md"))?;
    copy_file(
        &ws.root.join("docs").join("production.md"),
        &doc.join("production.md"),
    )?;
    if let Some(license) = license(&ws.root) {
        copy_file(&license, &doc.join("copyright"))?;
    }
    let debian = deb_root.join("DEBIAN");
    fs::create_dir_all(&debian)?;
    fs::write(
        debian.join("control"),
        control(&version, deb_arch, installed_size_kib(&deb_root)?),
    )?;
    fs::write(
        debian.join("conffiles"),
        format!("{CONFIG_PATH}\n/etc/switchboard/flows/support.yaml\n"),
    )?;
    for (name, text) in [("postinst", POSTINST), ("prerm", PRERM), ("postrm", POSTRM)] {
        let path = debian.join(name);
        fs::write(&path, text)?;
        set_mode(&path, 0o755)?;
    }
    set_mode(&deb_root.join("usr").join("bin").join("switchboard"), 0o755)?;
    let deb = dist.join(format!("switchboard_{version}_{deb_arch}.deb"));
    let mut dpkg = Command::new("dpkg-deb");
    dpkg.arg("--root-owner-group");
    // A debug binary is large; xz would take minutes over it.
    if profile == Profile::Dev {
        dpkg.arg("-Zgzip");
    }
    dpkg.arg("--build").arg(&deb_root).arg(&deb);
    run(&mut dpkg).context("building the Debian package needs dpkg-deb (Debian's dpkg)")?;
    step(&format!(
        "wrote {} and {}",
        tarball.display(),
        deb.display()
    ));
    Ok(Built { tarball, deb })
}

/// Copies the release's plugins (the Rust plugins directly under `plugins/`, not the fault
/// fixtures nor the JavaScript and Python twins of open messaging) from `built` to `to`.
fn stage_plugins(ws: &Workspace, built: &Path, to: &Path) -> anyhow::Result<()> {
    let mut crates: Vec<PluginCrate> = Vec::new();
    find_plugin_crates(&ws.root.join("plugins"), &mut Vec::new(), &mut crates)?;
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let mut names = Vec::new();
    for plugin in crates.iter().filter(|c| c.rel.len() == 1) {
        let name = format!("{}.wasm", plugin.rel[0]);
        copy_file(&built.join(&name), &to.join(&name))?;
        names.push(plugin.rel[0].clone());
    }
    names.sort();
    step(&format!(
        "plugins built into the binary: {}",
        names.join(", ")
    ));
    Ok(())
}

/// `switchboard init`'s configuration with the installed paths.
fn packaged_config(binary: &Path, stage: &Path, example_flow: &Path) -> anyhow::Result<String> {
    let starter = stage.join("starter.toml");
    run(Command::new(binary).arg("init").arg(&starter))?;
    let text = fs::read_to_string(&starter)
        .with_context(|| format!("cannot read {}", starter.display()))?;
    let config = install_paths(&text)?;
    let packaged = stage.join("switchboard.toml");
    fs::write(&packaged, &config)?;
    // The binary reads it as it will once installed (the paths need not exist), with the
    // example flow the package installs beside it.
    run(Command::new(binary)
        .args(["flow", "validate"])
        .arg(example_flow)
        .arg("--config")
        .arg(&packaged))?;
    Ok(config)
}

/// Rewrites the starter's relative paths to the installed ones; fails, naming the line, when
/// the starter no longer has a line this expects.
pub fn install_paths(starter: &str) -> anyhow::Result<String> {
    let replacements = [
        (
            "path = \"data/switchboard.db\"",
            "path = \"/var/lib/switchboard/switchboard.db\"",
        ),
        (
            "dir = \"target/plugins\"",
            "cache_dir = \"/var/lib/switchboard/plugin-cache\"   # compiled plugins, rebuilt when missing\n\
             dir = \"/etc/switchboard/plugins\"   # NAME.wasm here adds or overrides a plugin built into the binary",
        ),
        ("dir = \"flows\"", "dir = \"/etc/switchboard/flows\""),
    ];
    let mut lines: Vec<String> = starter.lines().map(str::to_owned).collect();
    for (from, to) in replacements {
        let line = lines
            .iter_mut()
            .find(|line| line.trim_start().starts_with(from))
            .with_context(|| {
                format!("the starter configuration (host/src/config/starter.toml) has no line `{from}` to give an installed path")
            })?;
        *line = to.to_owned();
    }
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(text)
}

/// `version` under `[workspace.package]` in the workspace's Cargo.toml.
fn workspace_version(root: &Path) -> anyhow::Result<String> {
    let manifest = root.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "version"
        {
            return Ok(value.trim().trim_matches('"').to_owned());
        }
    }
    bail!(
        "no version under [workspace.package] in {}",
        manifest.display()
    )
}

/// The architecture as the tarball's name says it and as Debian does.
fn architectures() -> anyhow::Result<(&'static str, &'static str)> {
    match std::env::consts::ARCH {
        "x86_64" => Ok(("x86_64", "amd64")),
        "aarch64" => Ok(("aarch64", "arm64")),
        other => bail!("no Debian architecture known for {other}"),
    }
}

fn control(version: &str, arch: &str, installed_kib: u64) -> String {
    format!(
        "Package: switchboard\n\
         Version: {version}\n\
         Architecture: {arch}\n\
         Maintainer: Switchboard maintainers <switchboard@example.org>\n\
         Installed-Size: {installed_kib}\n\
         Depends: libc6, passwd\n\
         Section: net\n\
         Priority: optional\n\
         Description: self-hosted runtime for contact-center inbound message flows\n \
         Switchboard takes platforms' webhooks (X, WhatsApp, Messenger, Instagram, open\n \
         messaging), runs flows and routes conversations to agents. The channel adapters\n \
         and the browser console are built into the binary.\n"
    )
}

fn installed_size_kib(dir: &Path) -> anyhow::Result<u64> {
    fn walk(dir: &Path) -> anyhow::Result<u64> {
        let mut total = 0;
        for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let entry = entry?;
            let meta = entry.metadata()?;
            total += if meta.is_dir() {
                walk(&entry.path())?
            } else {
                meta.len()
            };
        }
        Ok(total)
    }
    Ok(walk(dir)?.div_ceil(1024))
}

fn license(root: &Path) -> Option<PathBuf> {
    ["LICENSE", "LICENSE.md", "LICENSE.txt", "LICENSE-APACHE"]
        .iter()
        .map(|name| root.join(name))
        .find(|path| path.is_file())
}

fn copy_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))? {
        let entry = entry?;
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()))?;
        } else {
            copy_file(&path, &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> anyhow::Result<()> {
    bail!("packaging needs a Unix system")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_configuration_has_the_installed_paths() {
        let starter = include_str!("../../host/src/config/starter.toml");
        let packaged = install_paths(starter).unwrap();
        for line in [
            "path = \"/var/lib/switchboard/switchboard.db\"",
            "cache_dir = \"/var/lib/switchboard/plugin-cache\"",
            "dir = \"/etc/switchboard/plugins\"",
            "dir = \"/etc/switchboard/flows\"",
        ] {
            assert!(packaged.contains(line), "{line} missing in:\n{packaged}");
        }
        for relative in ["data/", "target/plugins", "\"flows\""] {
            assert!(
                !packaged.contains(relative),
                "{relative} left in:\n{packaged}"
            );
        }
    }

    #[test]
    fn a_starter_without_an_expected_line_is_refused() {
        let error = install_paths("[store]\npath = \"elsewhere.db\"\n").unwrap_err();
        assert!(error.to_string().contains("data/switchboard.db"), "{error}");
    }

    #[test]
    fn profile_flags() {
        assert_eq!(Args::parse(&[]).unwrap().profile, Profile::Release);
        let dev = ["--profile".to_string(), "dev".to_string()];
        assert_eq!(Args::parse(&dev).unwrap().profile, Profile::Dev);
        assert!(Args::parse(&["--profile=debug".to_string()]).is_err());
    }
}
