//! The `switchboard` commands that read a component, copy the store or talk to a running host's
//! admin API: `plugin inspect`, `backup`, `flow publish`, and the admin calls the other commands
//! share.

use std::process::ExitCode;

use anyhow::Context;

/// `plugin inspect`: what the component is, read from its bytes, then loaded as the host would
/// (with a default configuration that grants what its manifest asks for).
pub async fn inspect(file: &std::path::Path) -> anyhow::Result<ExitCode> {
    use switchboard::runtime::{Loaded, PluginRuntime, outline};

    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let outline = outline(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let list = |items: &[String]| {
        if items.is_empty() {
            "(none)".to_string()
        } else {
            items.join("\n              ")
        }
    };
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .to_string();
    println!("plugin:       {name}");
    println!("file:         {} ({} bytes)", file.display(), bytes.len());
    println!(
        "world:        {}",
        outline
            .world
            .as_deref()
            .unwrap_or("none: it exports no Switchboard world")
    );
    println!("exports:      {}", list(&outline.exports));
    println!("imports:      {}", list(&outline.imports));
    match &outline.manifest {
        Some(manifest) => {
            let text = toml::to_string(manifest)?;
            let lines: Vec<&str> = text.lines().collect();
            println!("asks for:     {}", lines.join("\n              "));
        }
        None => println!("asks for:     nothing beyond the defaults (no manifest)"),
    }
    if outline.world.is_none() {
        return Ok(ExitCode::FAILURE);
    }

    let runtime = PluginRuntime::new(&Default::default())?;
    // A default host that grants exactly what the manifest asks for.
    let asked = outline.manifest.unwrap_or_default();
    let grant = switchboard::config::PluginGrant {
        http_hosts: asked.http_hosts,
        deadline_ms: asked.deadline_ms,
        memory_mib: asked.memory_mib,
        max_output_bytes: asked.max_output_bytes,
        ..switchboard::config::PluginGrant::none(&name)
    };
    match runtime.load(&name, bytes, &grant).await? {
        Loaded::Adapter(plugin) => {
            let info = plugin.info();
            println!("loads:        yes; describe() answered");
            println!("sha256:       {}", plugin.hash());
            println!("platform:     {}", info.platform);
            let unit = match info.text_unit {
                switchboard::events::TextUnit::Chars => "characters",
                switchboard::events::TextUnit::Bytes => "bytes",
            };
            println!("text limit:   {} {unit}", info.text_limit);
            println!(
                "reply window: {}",
                info.reply_window_hours
                    .map_or("none".to_string(), |h| format!("{h} h"))
            );
            let c = info.capabilities;
            let can: Vec<&str> = [
                (c.attachments, "attachments"),
                (c.quick_replies, "quick replies"),
                (c.typing, "typing"),
                (c.receipts, "receipts"),
                (c.templates, "templates"),
            ]
            .into_iter()
            .filter_map(|(on, what)| on.then_some(what))
            .collect();
            println!(
                "capabilities: {}",
                if can.is_empty() {
                    "text only".to_string()
                } else {
                    can.join(", ")
                }
            );
        }
        Loaded::Flow(plugin) => {
            println!("loads:        yes");
            println!("sha256:       {}", plugin.hash());
            if let Some(action) = plugin.as_data_action() {
                let names: Vec<String> = action.actions().iter().map(|a| a.name.clone()).collect();
                println!("actions:      {}", names.join(", "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `backup FILE`: an online copy of the SQLite store (`store::sqlite::backup`); a PostgreSQL
/// store is pg_dump's work.
pub fn backup(
    file: &std::path::Path,
    config: Option<std::path::PathBuf>,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let config = match config {
        Some(path) => switchboard::config::Config::load(&path)?,
        None => switchboard::config::Config::default(),
    };
    if config.store.url.is_some() {
        eprintln!(
            "error: this host's store is PostgreSQL ([store] url); `switchboard backup` copies \
             the embedded SQLite store only. Back PostgreSQL up with `pg_dump` (and restore with \
             `pg_restore`): see docs/production.md, \"Backup and restore\"."
        );
        return Ok(ExitCode::from(2));
    }
    let report = switchboard::store::sqlite::backup(&config.store.db_path(), file, force)?;
    println!(
        "wrote {}: {} bytes, {} conversations (schema version {}) from {}",
        report.path.display(),
        report.bytes,
        report.conversations,
        report.schema_version,
        config.store.db_path().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Sends an admin request; on an error status prints `NAME: STATUS MESSAGE` to stderr and
/// returns `None`.
pub async fn admin_call(
    name: &str,
    url: &str,
    request: reqwest::RequestBuilder,
) -> anyhow::Result<Option<serde_json::Value>> {
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status.is_success() {
        return Ok(Some(body));
    }
    eprintln!(
        "{name}: {} {}",
        status.as_u16(),
        body["error"]["message"].as_str().unwrap_or_default()
    );
    Ok(None)
}

/// `flow publish`: PUT the file to the admin API and print the answer.
pub async fn publish(
    file: &std::path::Path,
    host: &str,
    token: &str,
    name: Option<String>,
) -> anyhow::Result<ExitCode> {
    let name = match name {
        Some(name) => name,
        None => file
            .file_stem()
            .and_then(|s| s.to_str())
            .context("cannot tell the flow's name from the file name")?
            .to_string(),
    };
    let source =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let url = format!("{}/admin/v1/flows/{name}", host.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .put(&url)
        .bearer_auth(token)
        .header("content-type", "application/yaml")
        .body(source)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status.is_success() {
        println!(
            "{name}: version {} ({})",
            body["version"],
            if body["created"] == true {
                "published"
            } else {
                "unchanged"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "{name}: {} {}",
        status.as_u16(),
        body["error"]["message"].as_str().unwrap_or_default()
    );
    for e in body["errors"].as_array().into_iter().flatten() {
        eprintln!(
            "  {}:{}:{}: {}",
            file.display(),
            e["line"],
            e["column"],
            e["message"].as_str().unwrap_or_default()
        );
    }
    Ok(ExitCode::FAILURE)
}
