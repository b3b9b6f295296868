//! What `cargo xtask serve` reads from the demo configuration: where the store is (so each run
//! starts from a fresh demo state unless `--keep` is given) and what to tell the person who
//! started it (the console's URL and the demo's tokens). A few keys read line by line: xtask
//! has no TOML parser, and the host checks the file properly when it starts.

use std::path::{Path, PathBuf};

/// The keys of the configuration the banner and the reset need.
#[derive(Debug, Default, PartialEq)]
pub struct Demo {
    pub listen: Option<String>,
    pub admin_token: Option<String>,
    pub store_path: Option<String>,
    /// Agents' (id, token).
    pub agents: Vec<(String, String)>,
}

/// The first quoted string of `line` after `key =`, if the line sets `key`.
fn value(line: &str, key: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix(key)?.trim_start();
    let rest = rest.strip_prefix('=')?.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// Reads the keys of [`Demo`] from the configuration's text.
pub fn read(text: &str) -> Demo {
    let mut demo = Demo::default();
    let mut section = String::new();
    let mut agent: (Option<String>, Option<String>) = (None, None);
    let flush = |agent: &mut (Option<String>, Option<String>), demo: &mut Demo| {
        if let (Some(id), Some(token)) = (agent.0.take(), agent.1.take()) {
            demo.agents.push((id, token));
        }
        *agent = (None, None);
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            flush(&mut agent, &mut demo);
            section = trimmed.split('#').next().unwrap_or("").trim().to_string();
            continue;
        }
        match section.as_str() {
            "[server]" => {
                demo.listen = demo.listen.take().or(value(trimmed, "listen"));
                demo.admin_token = demo.admin_token.take().or(value(trimmed, "admin_token"));
            }
            "[store]" => demo.store_path = demo.store_path.take().or(value(trimmed, "path")),
            "[[agent]]" => {
                agent.0 = agent.0.take().or(value(trimmed, "id"));
                agent.1 = agent.1.take().or(value(trimmed, "token"));
            }
            _ => {}
        }
    }
    flush(&mut agent, &mut demo);
    demo
}

/// The files of the demo's state under `root`: the store with its WAL files, and the plugins'
/// key-value store beside it (what the host creates at `[store] path`).
pub fn state_files(root: &Path, demo: &Demo) -> Vec<PathBuf> {
    let store = root.join(demo.store_path.as_deref().unwrap_or("data/switchboard.db"));
    let kv = store.with_file_name("plugin-kv.db");
    let mut files = Vec::new();
    for db in [store, kv] {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            files.push(PathBuf::from(name));
        }
    }
    files
}

/// The lines that tell the person at the terminal where to go and how to sign in.
pub fn banner(demo: &Demo) -> Vec<String> {
    let listen = demo.listen.as_deref().unwrap_or("127.0.0.1:8080");
    let mut lines = vec![format!("console:      http://{listen}/console/")];
    for (id, token) in &demo.agents {
        lines.push(format!("agent token:  {token}   (agent `{id}`)"));
    }
    match &demo.admin_token {
        Some(token) => lines.push(format!("admin token:  {token}")),
        None => lines.push("admin token:  none (the admin API is off)".into()),
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_demo_configuration() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../switchboard.toml"),
        )
        .unwrap();
        let demo = read(&text);
        assert_eq!(demo.listen.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(demo.admin_token.as_deref(), Some("demo-admin-token"));
        assert_eq!(demo.store_path.as_deref(), Some("data/switchboard.db"));
        assert_eq!(
            demo.agents,
            [("alice".to_string(), "demo-agent-alice".to_string())]
        );
        assert_eq!(
            banner(&demo),
            [
                "console:      http://127.0.0.1:8080/console/",
                "agent token:  demo-agent-alice   (agent `alice`)",
                "admin token:  demo-admin-token",
            ]
        );
        let files = state_files(Path::new("/r"), &demo);
        assert!(files.contains(&PathBuf::from("/r/data/switchboard.db-wal")));
        assert!(files.contains(&PathBuf::from("/r/data/plugin-kv.db")));
    }
}
