//! Plugins built from other languages than Rust, one folder directly under `plugins/` each:
//!
//! - JavaScript: a `package.json` with a `build` script. `npm ci` (or `npm install` when `npm ci`
//!   refuses the lock) runs when `node_modules` is older than `package-lock.json` (or missing),
//!   then `npm run build`, which must write `dist/<folder>.wasm`.
//! - Python: a `pyproject.toml` with a `[tool.switchboard-plugin]` table: `build-requires` (the
//!   pinned componentize-py requirement, installed with pip into a venv under
//!   `target/componentize-py/`), `wit`, `world`, `app` (the module with the exports) and
//!   `source` (the folder it is in), both paths relative to the project. The component is
//!   `componentize-py -d <wit> -w <world> componentize <app> -p <source> -o <out>`.
//!
//! Each becomes `target/plugins/<folder>.wasm`. A component newer than every file of its project
//! and of its WIT is left as it is. Without the toolchain (node and npm, or python3 with venv)
//! the project is skipped with a note saying what to install.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use anyhow::{Context, bail};

use crate::{run, step};

/// Folders never searched for sources (installed packages, build output, caches).
const IGNORED: &[&str] = &["node_modules", "dist", "__pycache__", ".venv", "target"];

/// Whether `dir` is a JavaScript or Python plugin project (not a folder of plugin crates).
pub fn is_project(dir: &Path) -> bool {
    dir.join("package.json").is_file() || dir.join("pyproject.toml").is_file()
}

/// What `build` did.
pub struct Built {
    pub built: usize,
    pub skipped: Vec<String>,
}

/// Builds every JavaScript and Python plugin directly under `plugins` into `out_dir`; `target`
/// is the Cargo target folder (the home of the componentize-py venvs).
pub fn build(plugins: &Path, target: &Path, out_dir: &Path) -> anyhow::Result<Built> {
    let mut projects: Vec<PathBuf> = fs::read_dir(plugins)
        .with_context(|| format!("cannot list {}", plugins.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir() && is_project(path))
        .collect();
    projects.sort();
    let wit_root = plugins
        .parent()
        .context("plugins/ has no parent folder")?
        .join("wit");
    let mut built = Built {
        built: 0,
        skipped: Vec::new(),
    };
    for dir in projects {
        let name = dir
            .file_name()
            .context("a plugin folder has no name")?
            .to_string_lossy()
            .into_owned();
        let out = out_dir.join(format!("{name}.wasm"));
        let outcome = if dir.join("package.json").is_file() {
            build_js(&dir, &name, &wit_root, &out)
        } else {
            build_python(&dir, &name, target, &out)
        }
        .with_context(|| format!("building plugins/{name}"))?;
        match outcome {
            Outcome::Built => built.built += 1,
            Outcome::Skipped(why) => {
                step(&format!("note: skipping plugins/{name}: {why}"));
                built.skipped.push(name);
            }
        }
    }
    Ok(built)
}

enum Outcome {
    Built,
    Skipped(String),
}

// --- JavaScript ----------------------------------------------------------------------------------

fn build_js(dir: &Path, name: &str, wit_root: &Path, out: &Path) -> anyhow::Result<Outcome> {
    let manifest = fs::read_to_string(dir.join("package.json"))
        .with_context(|| format!("cannot read {}", dir.join("package.json").display()))?;
    if !has_build_script(&manifest) {
        return Ok(Outcome::Skipped(
            "its package.json has no `build` script".into(),
        ));
    }
    if is_fresh(out, &[dir, wit_root]) {
        step(&format!("{} is up to date", out.display()));
        return Ok(Outcome::Built);
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if !answers(Command::new("node").arg("--version"))
        || !answers(Command::new(npm).arg("--version"))
    {
        return Ok(Outcome::Skipped(
            "it is built from JavaScript and needs Node.js 18+ with npm on the PATH \
             (e.g. `apt-get install nodejs npm`); its compliance profile fails until it is built"
                .into(),
        ));
    }
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules").join(".package-lock.json");
    if modified(&installed)
        .zip(modified(&lock))
        .is_none_or(|(i, l)| i < l)
    {
        let ci = run(Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir));
        if let Err(e) = ci {
            // A registry that lacks some platforms' optional binaries (as the one here does)
            // leaves them out of package-lock.json, and `npm ci` then calls the lock out of sync;
            // `npm install` takes the same lock and installs the same versions.
            step(&format!("note: {e:#}; trying `npm install`"));
            run(Command::new(npm)
                .args(["install", "--no-audit", "--no-fund"])
                .current_dir(dir))?;
        }
    }
    run(Command::new(npm).args(["run", "build"]).current_dir(dir))?;
    let built = dir.join("dist").join(format!("{name}.wasm"));
    if !built.is_file() {
        bail!(
            "`npm run build` succeeded but {} is missing (the build script must write it)",
            built.display()
        );
    }
    copy(&built, out)?;
    Ok(Outcome::Built)
}

/// Whether a package.json has a `"build"` entry in its `"scripts"` object.
fn has_build_script(manifest: &str) -> bool {
    let Some(start) = manifest.find("\"scripts\"") else {
        return false;
    };
    let rest = &manifest[start..];
    let Some(open) = rest.find('{') else {
        return false;
    };
    let scripts = &rest[open..rest[open..].find('}').map_or(rest.len(), |end| open + end)];
    scripts.contains("\"build\"")
}

// --- Python --------------------------------------------------------------------------------------

/// `[tool.switchboard-plugin]` of a pyproject.toml.
#[derive(Debug, PartialEq)]
struct PythonPlugin {
    build_requires: String,
    wit: String,
    world: String,
    app: String,
    source: String,
}

fn build_python(dir: &Path, name: &str, target: &Path, out: &Path) -> anyhow::Result<Outcome> {
    let manifest_path = dir.join("pyproject.toml");
    let manifest = fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let Some(plugin) = python_plugin(&manifest)? else {
        return Ok(Outcome::Skipped(
            "its pyproject.toml has no [tool.switchboard-plugin] table".into(),
        ));
    };
    let wit = dir.join(&plugin.wit);
    if is_fresh(out, &[dir, &wit]) {
        step(&format!("{} is up to date", out.display()));
        return Ok(Outcome::Built);
    }
    let python = if cfg!(windows) { "python" } else { "python3" };
    let install_hint = "it is built from Python with componentize-py and needs python3 with \
                        venv and pip (e.g. `apt-get install python3-venv python3-pip`); its \
                        compliance profile fails until it is built";
    if !answers(Command::new(python).arg("--version")) {
        return Ok(Outcome::Skipped(install_hint.into()));
    }
    let venv = target
        .join("componentize-py")
        .join(sanitize(&plugin.build_requires));
    let bin = venv.join(if cfg!(windows) { "Scripts" } else { "bin" });
    let tool = bin.join(if cfg!(windows) {
        "componentize-py.exe"
    } else {
        "componentize-py"
    });
    if !tool.is_file() {
        let mut create = Command::new(python);
        create.args(["-m", "venv", "--clear"]).arg(&venv);
        if run(&mut create).is_err() {
            return Ok(Outcome::Skipped(format!(
                "`python3 -m venv` failed; {install_hint}"
            )));
        }
        run(Command::new(bin.join("python"))
            .args(["-m", "pip", "install", "--disable-pip-version-check"])
            .arg(&plugin.build_requires))?;
    }
    let out_parent = out.parent().context("the output has no parent folder")?;
    fs::create_dir_all(out_parent)
        .with_context(|| format!("cannot create {}", out_parent.display()))?;
    run(Command::new(&tool)
        .arg("-d")
        .arg(&wit)
        .args(["-w", &plugin.world, "componentize", &plugin.app, "-p"])
        .arg(dir.join(&plugin.source))
        .arg("-o")
        .arg(out)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(dir))?;
    step(&format!("plugins/{name} -> {}", out.display()));
    Ok(Outcome::Built)
}

/// Reads `[tool.switchboard-plugin]`: `None` without the table, an error when a key is missing.
fn python_plugin(manifest: &str) -> anyhow::Result<Option<PythonPlugin>> {
    let mut in_table = false;
    let mut found = false;
    let mut values = std::collections::HashMap::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == "[tool.switchboard-plugin]";
            found |= in_table;
            continue;
        }
        if !in_table || line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.split_once('"'))
                .map(|(v, _)| v.to_owned());
            if let Some(value) = value {
                values.insert(key.trim().to_owned(), value);
            }
        }
    }
    if !found {
        return Ok(None);
    }
    let mut take = |key: &str| {
        values
            .remove(key)
            .with_context(|| format!("[tool.switchboard-plugin] lacks `{key} = \"...\"`"))
    };
    Ok(Some(PythonPlugin {
        build_requires: take("build-requires")?,
        wit: take("wit")?,
        world: take("world")?,
        app: take("app")?,
        source: take("source")?,
    }))
}

/// A requirement as a folder name: `componentize-py==0.25.1` → `componentize-py-0.25.1`.
fn sanitize(requirement: &str) -> String {
    let mut out = String::new();
    for c in requirement.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out
}

// --- shared --------------------------------------------------------------------------------------

/// Whether the command runs and succeeds (a toolchain probe; its output is dropped).
fn answers(command: &mut Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Whether `out` exists and is newer than every file under `inputs` (ignoring [`IGNORED`]).
fn is_fresh(out: &Path, inputs: &[&Path]) -> bool {
    let Some(built) = modified(out) else {
        return false;
    };
    inputs
        .iter()
        .all(|input| newest(input).is_some_and(|newest| newest <= built))
}

/// The newest modification time of the files under `path`.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    let mut latest = meta.modified().ok()?;
    for entry in fs::read_dir(path).ok()? {
        let entry = entry.ok()?;
        let name = entry.file_name();
        if IGNORED.iter().any(|ignored| name == *ignored) {
            continue;
        }
        latest = latest.max(newest(&entry.path())?);
    }
    Some(latest)
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    let parent = to.parent().context("the output has no parent folder")?;
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    step(&format!("copy {} -> {}", from.display(), to.display()));
    fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_build_script() {
        assert!(has_build_script(
            r#"{"name":"a","scripts":{"test":"x","build":"node build.mjs"}}"#
        ));
        assert!(!has_build_script(
            r#"{"name":"build","scripts":{"test":"x"}}"#
        ));
        assert!(!has_build_script(r#"{"name":"a"}"#));
    }

    #[test]
    fn reads_the_python_plugin_table() {
        let manifest = "[project]\nname = \"x\"\n\n[tool.switchboard-plugin]\n# pinned\nbuild-requires = \"componentize-py==0.25.1\"\nwit = \"../../wit/channel\" # the contract\nworld = \"adapter\"\napp = \"app\"\nsource = \"src\"\n";
        assert_eq!(
            python_plugin(manifest).unwrap(),
            Some(PythonPlugin {
                build_requires: "componentize-py==0.25.1".into(),
                wit: "../../wit/channel".into(),
                world: "adapter".into(),
                app: "app".into(),
                source: "src".into(),
            })
        );
        assert_eq!(python_plugin("[project]\nname = \"x\"\n").unwrap(), None);
        let missing = python_plugin("[tool.switchboard-plugin]\nworld = \"adapter\"\n");
        assert!(missing.unwrap_err().to_string().contains("build-requires"));
        assert_eq!(
            sanitize("componentize-py==0.25.1"),
            "componentize-py-0.25.1"
        );
    }
}
