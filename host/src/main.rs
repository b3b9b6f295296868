//! The `switchboard` command: `serve`, `flow validate`, `plugin inspect`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard::config::Config;
use switchboard::flows;
use switchboard::host::Host;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Self-hosted runtime for contact-center inbound message flows"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the host: webhooks, flows, queues and the agent and admin APIs.
    Serve {
        /// The configuration file; without it, built-in defaults (127.0.0.1:8080, ./data, ./flows, ./target/plugins).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Publish flow files and hot-load plugin components as they change in the flows and
        /// plugins folders (a broken file is reported and never replaces the working version).
        #[arg(long)]
        watch: bool,
    },
    /// Fill the store of `--config` with `--conversations` ended conversations and `--waiting`
    /// ones queued in `--queue` (for `cargo xtask bench --scale`; see the README's Performance
    /// section).
    #[command(hide = true)]
    BenchPrefill {
        #[arg(long)]
        config: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        conversations: usize,
        #[arg(long, default_value_t = 10_000)]
        waiting: usize,
        #[arg(long)]
        integration: String,
        #[arg(long, default_value = "support")]
        queue: String,
    },
    /// Work with flow files.
    Flow {
        #[command(subcommand)]
        command: FlowCommand,
    },
    /// Work with plugin components.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum FlowCommand {
    /// Check a flow file and print every error with its line and column.
    Validate {
        file: PathBuf,
        /// Also check that the queues it transfers to exist in this configuration.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Draw a flow: Mermaid (default), Graphviz DOT, or SVG (needs Graphviz's `dot`).
    Graph {
        file: PathBuf,
        #[arg(long, default_value = "mermaid", value_parser = ["mermaid", "dot", "svg"])]
        format: String,
    },
    /// Run a scripted conversation against the flow with the real engine and plugins.
    Test {
        file: PathBuf,
        #[arg(long)]
        script: Vec<PathBuf>,
        /// Where the plugin components are.
        #[arg(long, default_value = "target/plugins")]
        plugins: PathBuf,
    },
    /// Publish a flow file to a running host (PUT /admin/v1/flows/NAME).
    Publish {
        file: PathBuf,
        /// The host's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        host: String,
        /// The admin token (or set SWITCHBOARD_ADMIN_TOKEN).
        #[arg(long, env = "SWITCHBOARD_ADMIN_TOKEN")]
        token: String,
        /// The flow's name; default: the file name without `.yaml`.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Load a component as the host would and print what it is.
    Inspect { file: PathBuf },
    /// Hot-load a component into a running host (PUT /admin/v1/plugins/NAME).
    Publish {
        file: PathBuf,
        /// The host's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        host: String,
        /// The admin token (or set SWITCHBOARD_ADMIN_TOKEN).
        #[arg(long, env = "SWITCHBOARD_ADMIN_TOKEN")]
        token: String,
        /// The plugin's name; default: the file name without `.wasm`.
        #[arg(long)]
        name: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,cranelift=warn,wasmtime=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve { config, watch } => serve(config, watch).await,
        Command::BenchPrefill {
            config,
            conversations,
            waiting,
            integration,
            queue,
        } => {
            let config = Config::load(&config)?;
            let store = switchboard::store::sqlite::SqliteStore::open(&config.store)?;
            let started = std::time::Instant::now();
            store
                .prefill(
                    &integration,
                    &queue,
                    conversations.saturating_sub(waiting),
                    waiting,
                    switchboard::model::now_ms(),
                )
                .await?;
            println!(
                "{}: {conversations} conversations ({waiting} waiting in `{queue}`) in {:.1?}",
                config.store.db_path().display(),
                started.elapsed()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Flow {
            command: FlowCommand::Graph { file, format },
        } => {
            let flow = match flows::validate_flow_file(&file, None, None)? {
                Ok(flow) => flow,
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{}:{e}", file.display());
                    }
                    return Ok(ExitCode::FAILURE);
                }
            };
            match format.as_str() {
                "mermaid" => print!("{}", switchboard::engine::graph::mermaid(&flow)),
                "dot" => print!("{}", switchboard::engine::graph::dot(&flow)),
                _ => {
                    use std::io::Write;
                    let mut child = std::process::Command::new("dot")
                        .arg("-Tsvg")
                        .stdin(std::process::Stdio::piped())
                        .spawn()
                        .context("SVG needs Graphviz: install it (e.g. `apt-get install graphviz`) or use --format mermaid|dot")?;
                    child
                        .stdin
                        .take()
                        .expect("piped")
                        .write_all(switchboard::engine::graph::dot(&flow).as_bytes())?;
                    if !child.wait()?.success() {
                        anyhow::bail!("Graphviz's dot failed");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Flow {
            command:
                FlowCommand::Test {
                    file,
                    script,
                    plugins,
                },
        } => {
            if script.is_empty() {
                anyhow::bail!("give at least one --script CONVERSATION.yaml");
            }
            let mut passed = true;
            for script in &script {
                passed &= switchboard::flowtest::run(&file, script, &plugins).await?;
            }
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Flow {
            command:
                FlowCommand::Publish {
                    file,
                    host,
                    token,
                    name,
                },
        } => publish(&file, &host, &token, name).await,
        Command::Flow {
            command: FlowCommand::Validate { file, config },
        } => {
            let config = config.map(|c| Config::load(&c)).transpose()?;
            let queues = config
                .as_ref()
                .map(|c| c.queues.iter().map(|q| q.id.clone()).collect());
            // With a configuration, the plugins the flow calls must exist and be of the right kind.
            let plugins = match &config {
                Some(config) => Some(flows::plugin_kinds_for(&file, config).await?),
                None => None,
            };
            match flows::validate_flow_file(&file, queues.as_ref(), plugins.as_ref())? {
                Ok(flow) => {
                    println!("{}: ok ({} steps)", file.display(), flow.steps.len());
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    for e in &errors {
                        println!("{}:{e}", file.display());
                    }
                    println!("{}: {} error(s)", file.display(), errors.len());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Plugin {
            command:
                PluginCommand::Publish {
                    file,
                    host,
                    token,
                    name,
                },
        } => {
            let name = match name {
                Some(name) => name,
                None => file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .context("cannot tell the plugin's name from the file name")?
                    .to_string(),
            };
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let url = format!("{}/admin/v1/plugins/{name}", host.trim_end_matches('/'));
            let response = reqwest::Client::new()
                .put(&url)
                .bearer_auth(&token)
                .header("content-type", "application/wasm")
                .body(bytes)
                .send()
                .await
                .with_context(|| format!("cannot reach {url}"))?;
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if status.is_success() {
                println!(
                    "{name}: version {} ({}, {})",
                    body["version"],
                    body["world"].as_str().unwrap_or_default(),
                    body["wit"].as_str().unwrap_or_default()
                );
                return Ok(ExitCode::SUCCESS);
            }
            eprintln!(
                "{name}: {} {}",
                status.as_u16(),
                body["error"]["message"].as_str().unwrap_or_default()
            );
            Ok(ExitCode::FAILURE)
        }
        Command::Plugin {
            command: PluginCommand::Inspect { file },
        } => inspect(&file).await,
    }
}

/// `plugin inspect`: what the component is, read from its bytes, then loaded as the host would
/// (with a default configuration that grants what its manifest asks for).
async fn inspect(file: &std::path::Path) -> anyhow::Result<ExitCode> {
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
            println!("text limit:   {} {:?}", info.text_limit, info.text_unit);
            println!(
                "reply window: {}",
                info.reply_window_hours
                    .map_or("none".to_string(), |h| format!("{h} h"))
            );
            println!("capabilities: {:?}", info.capabilities);
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

/// `flow publish`: PUT the file to the admin API and print the answer.
async fn publish(
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
            "  {}:line {}, column {}: {}",
            file.display(),
            e["line"],
            e["column"],
            e["message"].as_str().unwrap_or_default()
        );
    }
    Ok(ExitCode::FAILURE)
}

async fn serve(config: Option<PathBuf>, watch: bool) -> anyhow::Result<ExitCode> {
    let config = match config {
        Some(path) => Config::load(&path)?,
        None => Config::default(),
    };
    let listen = config.server.listen;
    let host = Host::open(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    host.spawn_signals();
    host.spawn_workers();
    if watch {
        host.spawn_watchers();
    }
    let integrations: Vec<String> = host
        .integrations
        .all()
        .iter()
        .map(|i| format!("/webhooks/{}", i.config.id))
        .collect();
    tracing::info!(
        "switchboard listening on http://{} ({})",
        listener.local_addr()?,
        integrations.join(", ")
    );
    switchboard::server::serve(host.router(), listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
