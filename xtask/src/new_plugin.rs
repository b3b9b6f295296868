//! `new-plugin KIND NAME [--out DIR]`: a new plugin crate from a template.
//!
//! - `adapter`: a channel adapter (`switchboard:channel`) with HMAC-signed JSON webhooks and a
//!   signed JSON send to `webhook_url`, unit tests and a fixture;
//! - `bot`: a keyword bot (`switchboard:flow/bot`), unit tests and a scripted conversation;
//! - `data-action`: one action reading the plugin's key-value store, unit tests and a fixture.
//!
//! Without `--out` the crate goes to `plugins/NAME/` and joins the workspace's `members`. With
//! `--out DIR` it goes to `DIR/NAME/` as a standalone crate: its own `[workspace]`, a path
//! dependency on this checkout's SDK, the `plugin` profile, and a copy of the workspace's
//! Cargo.lock so it builds with the same dependency versions (and offline).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

pub const USAGE: &str = "new-plugin KIND NAME [--out DIR]";

const ADAPTER_LIB: &str = include_str!("../templates/adapter/lib.rs.tmpl");
const ADAPTER_FIXTURE: &str = include_str!("../templates/adapter/message.json");
const ADAPTER_CHECK: &str = include_str!("../templates/adapter/check.toml");
const BOT_LIB: &str = include_str!("../templates/bot/lib.rs.tmpl");
const BOT_FIXTURE: &str = include_str!("../templates/bot/conversation.json");
const BOT_CHECK: &str = include_str!("../templates/bot/check.toml");
const ACTION_LIB: &str = include_str!("../templates/data-action/lib.rs.tmpl");
const ACTION_FIXTURE: &str = include_str!("../templates/data-action/order.json");
const ACTION_CHECK: &str = include_str!("../templates/data-action/check.toml");

/// Names that would clash with the workspace's own packages or with Rust's crates.
const RESERVED: &[&str] = &[
    "switchboard",
    "switchboard-sdk",
    "switchboard-tests",
    "xtask",
    "sdk",
    "host",
    "tests",
    "fixtures",
    "target",
    "std",
    "core",
    "alloc",
    "test",
    "proc-macro",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Adapter,
    Bot,
    DataAction,
}

impl Kind {
    fn parse(text: &str) -> anyhow::Result<Kind> {
        match text {
            "adapter" => Ok(Kind::Adapter),
            "bot" => Ok(Kind::Bot),
            "data-action" => Ok(Kind::DataAction),
            other => bail!(
                "unknown plugin kind {other:?}: use `adapter`, `bot` or `data-action` (usage: {USAGE})"
            ),
        }
    }

    /// The template's files: (path in the crate, contents with placeholders).
    fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Adapter => &[
                ("src/lib.rs", ADAPTER_LIB),
                ("fixtures/message.json", ADAPTER_FIXTURE),
                ("fixtures/check.toml", ADAPTER_CHECK),
            ],
            Kind::Bot => &[
                ("src/lib.rs", BOT_LIB),
                ("fixtures/conversation.json", BOT_FIXTURE),
                ("fixtures/check.toml", BOT_CHECK),
            ],
            Kind::DataAction => &[
                ("src/lib.rs", ACTION_LIB),
                ("fixtures/order.json", ACTION_FIXTURE),
                ("fixtures/check.toml", ACTION_CHECK),
            ],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Adapter => "channel adapter (switchboard:channel/adapter)",
            Kind::Bot => "bot (switchboard:flow/bot-plugin)",
            Kind::DataAction => "data action (switchboard:flow/data-action-plugin)",
        }
    }
}

/// The parsed command line.
pub struct Args {
    kind: Kind,
    name: String,
    out: Option<PathBuf>,
}

impl Args {
    pub fn parse(args: &[String]) -> anyhow::Result<Args> {
        let mut positional = Vec::new();
        let mut out = None;
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if let Some(value) = arg.strip_prefix("--out=") {
                out = Some(PathBuf::from(value));
            } else if arg == "--out" {
                let value = iter.next().context("--out needs a folder")?;
                out = Some(PathBuf::from(value));
            } else if arg.starts_with('-') {
                bail!("new-plugin: unknown option {arg:?} (usage: {USAGE})");
            } else {
                positional.push(arg.clone());
            }
        }
        let [kind, name] = positional.as_slice() else {
            bail!(
                "new-plugin needs a kind and a name, e.g. `cargo xtask new-plugin adapter acme` (usage: {USAGE})"
            );
        };
        let kind = Kind::parse(kind)?;
        check_name(name)?;
        Ok(Args {
            kind,
            name: name.clone(),
            out,
        })
    }
}

/// A plugin name is also its crate, its component file and its name in the host: lower-case
/// ASCII letters, digits and single `-`, starting with a letter.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!(
            "{name:?} is not a valid plugin name: use lower-case letters, digits and single `-`, starting with a letter (at most 64 characters), e.g. `acme` or `acme-chat`"
        );
    }
    if RESERVED.contains(&name) {
        bail!(
            "{name:?} is reserved (it clashes with a workspace or Rust crate); pick another name"
        );
    }
    Ok(())
}

/// `Acme` for `acme`, `AcmeChat2` for `acme-chat2`: the type the template exports.
fn type_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn render(template: &str, name: &str) -> String {
    template
        .replace("__NAME__", name)
        .replace("__TYPE__", &type_name(name))
}

/// The generated Cargo.toml: inheriting from the workspace, or standalone with `sdk` as a path.
fn manifest(name: &str, standalone_sdk: Option<&Path>) -> String {
    let header = "\
# Generated by `cargo xtask new-plugin`. Build the component with
#   cargo build --profile plugin --target wasm32-wasip2 -p NAME
# and run the unit tests natively with `cargo test -p NAME`.
";
    let header = header.replace("NAME", name);
    match standalone_sdk {
        None => format!(
            r#"{header}[package]
name = "{name}"
version.workspace = true
edition.workspace = true
rust-version.workspace = true
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
switchboard-sdk = {{ workspace = true }}
serde = {{ workspace = true }}
serde_json = {{ workspace = true }}
"#
        ),
        Some(sdk) => {
            let sdk = toml_string(&sdk.to_string_lossy());
            format!(
                r#"{header}[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
switchboard-sdk = {{ path = {sdk} }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

# The profile the Switchboard workspace builds plugins with: small, fast components.
[profile.plugin]
inherits = "release"
opt-level = "s"
lto = true
codegen-units = 1
strip = true
panic = "abort"

# A crate of its own, outside any enclosing workspace.
[workspace]
"#
            )
        }
    }
}

/// A TOML basic string (paths may hold `\` or `"`).
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs `new-plugin` for the workspace at `root`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<()> {
    let name = &args.name;
    let (dir, standalone) = match &args.out {
        Some(out) => (
            std::path::absolute(out)
                .with_context(|| format!("cannot make {} absolute", out.display()))?
                .join(name),
            true,
        ),
        None => (root.join("plugins").join(name), false),
    };
    if dir.exists() {
        bail!(
            "{} already exists; pick another name or remove it first",
            dir.display()
        );
    }
    if !standalone {
        if let Some(other) = package_in_workspace(root, name)? {
            bail!("a package named {name:?} already exists at {other}; pick another name");
        }
    }

    let sdk = root.join("sdk");
    let files = args.kind.files();
    let mut written = Vec::new();
    let manifest = manifest(name, standalone.then_some(sdk.as_path()));
    let result = (|| -> anyhow::Result<()> {
        write_new(&dir.join("Cargo.toml"), &manifest, &mut written)?;
        for (path, template) in files {
            write_new(&dir.join(path), &render(template, name), &mut written)?;
        }
        if standalone {
            // The workspace's versions, so the crate builds like the in-tree plugins (and
            // without a registry index update); cargo drops the entries it does not need.
            let lock = root.join("Cargo.lock");
            if lock.is_file() {
                fs::copy(&lock, dir.join("Cargo.lock"))
                    .with_context(|| format!("cannot copy {}", lock.display()))?;
            }
        } else {
            add_member(&root.join("Cargo.toml"), &format!("plugins/{name}"))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        // Leave nothing half-made behind.
        let _ = fs::remove_dir_all(&dir);
        return Err(e);
    }

    println!(
        "created {} {name} in {}",
        args.kind.describe(),
        dir.display()
    );
    for path in &written {
        println!("  {}", path.strip_prefix(&dir).unwrap_or(path).display());
    }
    if !standalone {
        println!("  (and added \"plugins/{name}\" to the workspace members in Cargo.toml)");
    }
    print_next_steps(args.kind, name, &dir, standalone);
    Ok(())
}

fn write_new(path: &Path, text: &str, written: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path.to_path_buf());
    Ok(())
}

/// The folder of a workspace crate (under `plugins/`, or a top-level one) whose package is
/// called `name`.
fn package_in_workspace(root: &Path, name: &str) -> anyhow::Result<Option<String>> {
    let mut manifests = Vec::new();
    collect_manifests(&root.join("plugins"), &mut manifests);
    for top in ["host", "sdk", "tests", "xtask"] {
        manifests.push(root.join(top).join("Cargo.toml"));
    }
    for manifest in manifests {
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        let declares = text.lines().any(|line| {
            line.split_once('=').is_some_and(|(key, value)| {
                key.trim() == "name" && value.trim().trim_matches('"') == name
            })
        });
        if declares {
            let folder = manifest.parent().unwrap_or(&manifest);
            return Ok(Some(
                folder
                    .strip_prefix(root)
                    .unwrap_or(folder)
                    .display()
                    .to_string(),
            ));
        }
    }
    Ok(None)
}

fn collect_manifests(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !path.is_dir() || hidden || path.ends_with("target") || path.ends_with("node_modules") {
            continue;
        }
        let manifest = path.join("Cargo.toml");
        if manifest.is_file() {
            out.push(manifest);
        } else {
            collect_manifests(&path, out);
        }
    }
}

/// Adds `member` to the `members = [...]` list of the workspace manifest, after its last
/// `plugins/` entry, touching nothing else in the file.
pub fn add_member(manifest: &Path, member: &str) -> anyhow::Result<()> {
    let text = fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let updated = with_member(&text, member)
        .with_context(|| format!("cannot add {member:?} to {}", manifest.display()))?;
    if let Some(updated) = updated {
        fs::write(manifest, updated)
            .with_context(|| format!("cannot write {}", manifest.display()))?;
    }
    Ok(())
}

/// The manifest text with `member` in `members`; `None` when it is there already.
fn with_member(text: &str, member: &str) -> anyhow::Result<Option<String>> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = lines
        .iter()
        .position(|line| {
            let line = line.trim();
            line.starts_with("members")
                && line.trim_start_matches("members").trim().starts_with("= [")
        })
        .context("no `members = [` line")?;
    let quoted = format!("\"{member}\"");
    let mut end = None;
    let mut last_plugin = None;
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let trimmed = line.trim();
        if trimmed.starts_with(']') {
            end = Some(i);
            break;
        }
        if trimmed.trim_end_matches(',') == quoted {
            return Ok(None);
        }
        if trimmed.starts_with("\"plugins/") {
            last_plugin = Some(i);
        }
    }
    let end = end.context("the `members` list is not closed by a `]` line of its own")?;
    let at = last_plugin.map_or(end, |i| i + 1);
    let mut out = String::with_capacity(text.len() + member.len() + 8);
    for (i, line) in lines.iter().enumerate() {
        if i == at {
            out.push_str(&format!("    {quoted},\n"));
        }
        out.push_str(line);
    }
    Ok(Some(out))
}

fn print_next_steps(kind: Kind, name: &str, dir: &Path, standalone: bool) {
    let wasm = format!("{}.wasm", name.replace('-', "_"));
    let (build, test, built) = if standalone {
        (
            format!(
                "cd {} && cargo build --profile plugin --target wasm32-wasip2",
                dir.display()
            ),
            "cargo test".to_string(),
            format!("target/wasm32-wasip2/plugin/{wasm} (in {})", dir.display()),
        )
    } else {
        (
            format!("cargo build --profile plugin --target wasm32-wasip2 -p {name}"),
            format!("cargo test -p {name}"),
            format!("target/wasm32-wasip2/plugin/{wasm}"),
        )
    };
    println!("\nnext steps (docs/plugins.md walks through each):");
    println!("  1. edit {}/src/lib.rs", dir.display());
    println!("  2. run the unit tests:       {test}");
    println!("  3. build the component:      {build}");
    println!("     it is written to {built}");
    let file = if standalone {
        format!("{}/target/wasm32-wasip2/plugin/{wasm}", dir.display())
    } else {
        format!("target/wasm32-wasip2/plugin/{wasm}")
    };
    match kind {
        Kind::Adapter => {
            println!("  4. check it as the host loads it: switchboard plugin inspect {file}");
            println!(
                "  5. hot-load it into a running host: switchboard plugin publish {file} --name {name} --token $SWITCHBOARD_ADMIN_TOKEN"
            );
            println!(
                "  6. connect an integration to it: an [[integration]] with adapter = \"{name}\" and settings secret + webhook_url (or PUT /admin/v1/integrations/ID)"
            );
        }
        Kind::Bot | Kind::DataAction => {
            println!(
                "  4. run the compliance suite on it: switchboard plugin check {file} --fixtures {}/fixtures",
                dir.display()
            );
            println!(
                "  5. hot-load it into a running host: switchboard plugin publish {file} --name {name} --token $SWITCHBOARD_ADMIN_TOKEN"
            );
            println!(
                "  6. call it from a flow (plugin: {name}) and grant it what it needs in a [[plugin]] section (http_hosts, deadline_ms, memory_mib)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["acme", "acme-chat", "a1", "acme-test-42"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Acme",
            "1acme",
            "-acme",
            "acme-",
            "acme--chat",
            "acme_chat",
            "acme chat",
            "ä",
            "../x",
            "xtask",
            "test",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn args_parse() {
        let args =
            |list: &[&str]| Args::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let parsed = args(&["adapter", "acme", "--out", "/tmp/x"]).unwrap();
        assert_eq!(parsed.kind, Kind::Adapter);
        assert_eq!(parsed.out.as_deref(), Some(Path::new("/tmp/x")));
        assert_eq!(
            args(&["data-action", "--out=o", "crm"]).unwrap().kind,
            Kind::DataAction
        );
        assert!(args(&["adapter"]).is_err());
        assert!(args(&["widget", "acme"]).is_err());
        assert!(args(&["bot", "acme", "extra"]).is_err());
        assert!(args(&["bot", "acme", "--force"]).is_err());
        assert!(args(&["bot", "Bad Name"]).is_err());
    }

    #[test]
    fn type_names_are_camel_case() {
        assert_eq!(type_name("acme"), "Acme");
        assert_eq!(type_name("acme-chat2"), "AcmeChat2");
    }

    #[test]
    fn templates_have_no_placeholders_left() {
        for kind in [Kind::Adapter, Kind::Bot, Kind::DataAction] {
            for (_, template) in kind.files() {
                let text = render(template, "acme-chat");
                assert!(!text.contains("__NAME__") && !text.contains("__TYPE__"));
            }
        }
        assert!(render(ADAPTER_LIB, "acme-chat").contains("export_adapter!(AcmeChat)"));
    }

    #[test]
    fn members_get_the_new_plugin_after_the_other_plugins() {
        let text = "[workspace]\nmembers = [\n    \"host\",\n    \"plugins/x\",\n    \"plugins/faq-bot\",\n    \"tests\",\n]\ndefault-members = [\"host\"]\n";
        let updated = with_member(text, "plugins/acme").unwrap().unwrap();
        assert_eq!(
            updated,
            "[workspace]\nmembers = [\n    \"host\",\n    \"plugins/x\",\n    \"plugins/faq-bot\",\n    \"plugins/acme\",\n    \"tests\",\n]\ndefault-members = [\"host\"]\n"
        );
        assert_eq!(with_member(&updated, "plugins/acme").unwrap(), None);
        let no_plugins = "members = [\n    \"host\",\n]\n";
        assert_eq!(
            with_member(no_plugins, "plugins/acme").unwrap().unwrap(),
            "members = [\n    \"host\",\n    \"plugins/acme\",\n]\n"
        );
        assert!(with_member("[workspace]\n", "plugins/acme").is_err());
    }

    #[test]
    fn standalone_manifests_point_at_the_sdk() {
        let text = manifest("acme", Some(Path::new("/src/switch\"board/sdk")));
        assert!(text.ends_with("[workspace]\n"));
        assert!(text.contains(r#"switchboard-sdk = { path = "/src/switch\"board/sdk" }"#));
        assert!(text.contains("[profile.plugin]"));
        let in_tree = manifest("acme", None);
        assert!(in_tree.contains("switchboard-sdk = { workspace = true }"));
        assert!(!in_tree.contains("[workspace]\n"));
    }
}
