//! The `switchboard` command: `serve`, `flow validate`, `plugin inspect`, `hash-token`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard::config::Config;
use switchboard::flows;
use switchboard::host::Host;

mod commands;
use commands::{admin_call, backup, inspect, publish};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Self-hosted runtime for contact-center inbound message flows"
)]
struct Cli {
    /// How the log on standard error looks: `text` (coloured only on a terminal) or `json`
    /// (one object per line).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "SWITCHBOARD_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: switchboard::logging::LogFormat,
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
    /// Write a commented starter configuration to FILE (refusing to replace one).
    Init {
        #[arg(default_value = "switchboard.toml")]
        file: PathBuf,
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
    /// Copy the SQLite store of `--config` to FILE while a host serves it (SQLite's online
    /// backup: one consistent snapshot, written to a temporary file and renamed). Restore: stop
    /// the host and copy FILE into place (docs/production.md). A PostgreSQL store is backed up
    /// with `pg_dump`.
    Backup {
        file: PathBuf,
        /// The configuration file; without it, the default store (data/switchboard.db).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Hash an agent's or supervisor's token for `token_hash` in the configuration: reads the
    /// token from standard input (one line) and prints its salted Argon2id hash (a PHC string).
    HashToken,
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
    /// Check flow files and print every error as `FILE:LINE:COL: message`. Exits 0 when all
    /// are valid, 1 when one is not a valid flow, 2 when a file or the configuration cannot be
    /// read.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also check the queues, schedule groups and plugins of this configuration.
        #[arg(long)]
        config: Option<PathBuf>,
        /// `text` (one line per error) or `json`.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Print the JSON Schema of flow files (for editors: see docs/flows.md).
    Schema,
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
        /// `text` (a line per turn) or `json` (`{"passed", "reports": [...]}`).
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
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
    /// Run the compliance suite on a component, the one its exports call for: an adapter with a
    /// platform's fixtures (DIR holds the webhook bodies and a `check.toml`: settings,
    /// signature, what each fixture gives; only what describe() declares is asked of it), or a
    /// bot or data action with its scripted turns and calls (`kind = "bot"` or
    /// `"data-action"` in check.toml). Exits 1 when a check fails.
    Check {
        file: PathBuf,
        /// The fixtures folder with its check.toml (or check-NAME.toml profiles).
        #[arg(long)]
        fixtures: PathBuf,
    },
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
    /// List a plugin's stored versions in a running host, and which one runs
    /// (GET /admin/v1/plugins/NAME).
    Versions {
        name: String,
        /// The host's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        host: String,
        /// The admin token (or set SWITCHBOARD_ADMIN_TOKEN).
        #[arg(long, env = "SWITCHBOARD_ADMIN_TOKEN")]
        token: String,
    },
    /// Roll a plugin back (or forward) to a stored version in a running host, hot
    /// (POST /admin/v1/plugins/NAME/rollback).
    Rollback {
        name: String,
        /// The stored version to run (see `plugin versions`).
        #[arg(long)]
        version: i64,
        /// The host's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        host: String,
        /// The admin token (or set SWITCHBOARD_ADMIN_TOKEN).
        #[arg(long, env = "SWITCHBOARD_ADMIN_TOKEN")]
        token: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        stop_quietly_when_the_reader_goes();
    }
    switchboard::logging::init(cli.log_format);
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
    let code = match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    // Workers stop at their next await; everything they acknowledged is in the store already.
    // A blocking call still running (a plugin, a read) is not waited for past this.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    code
}

/// A command whose output is piped into `head` (or a closed pager) ends quietly when the reader
/// goes, as Unix tools do, instead of panicking on the failed write. Only for one-shot
/// commands: `serve` keeps Rust's default (SIGPIPE ignored), so a client that goes away can
/// never kill the host.
fn stop_quietly_when_the_reader_goes() {
    // SAFETY: restoring the default disposition of one signal, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `switchboard hash-token`: the token from standard input, its hash on standard output.
fn hash_token() -> anyhow::Result<ExitCode> {
    let mut token = String::new();
    std::io::stdin()
        .read_line(&mut token)
        .context("cannot read the token from standard input")?;
    let token = token.trim_end_matches(['\n', '\r']);
    if token.is_empty() {
        anyhow::bail!(
            "give the token on standard input, e.g. `echo \"$TOKEN\" | switchboard hash-token`"
        );
    }
    println!("{}", switchboard::config::credentials::hash_token(token)?);
    Ok(ExitCode::SUCCESS)
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve { config, watch } => serve(config, watch).await,
        Command::Init { file } => {
            use std::io::Write;
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&file)
                .with_context(|| format!("cannot create {}", file.display()))?;
            out.write_all(switchboard::config::STARTER.as_bytes())?;
            println!(
                "wrote {}; edit it, then run `switchboard serve --config {}`",
                file.display(),
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup {
            file,
            config,
            force,
        } => backup(&file, config, force),
        Command::HashToken => hash_token(),
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
            let flow = match flows::validate_flow_file(&file, None, None, None)? {
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
                    format,
                },
        } => {
            if script.is_empty() {
                anyhow::bail!("give at least one --script CONVERSATION.yaml");
            }
            let mut passed = true;
            let mut reports = Vec::new();
            for script in &script {
                let report = switchboard::flowtest::run_script(&file, script, &plugins).await?;
                passed &= report.passed;
                if format == "json" {
                    reports.push(report);
                } else {
                    report.print();
                }
            }
            if format == "json" {
                let all = serde_json::json!({ "passed": passed, "reports": reports });
                println!("{all:#}");
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
            command:
                FlowCommand::Validate {
                    files,
                    config,
                    format,
                },
        } => {
            let config = match config.map(|c| Config::load(&c)).transpose() {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return Ok(ExitCode::from(flows::EXIT_UNREADABLE));
                }
            };
            let reports = flows::check_files(&files, config.as_ref()).await;
            if format == "json" {
                println!("{:#}", flows::render_json(&reports));
            } else {
                print!("{}", flows::render_text(&reports));
            }
            Ok(ExitCode::from(flows::exit_code(&reports)))
        }
        Command::Flow {
            command: FlowCommand::Schema,
        } => {
            println!("{:#}", switchboard::engine::schema());
            Ok(ExitCode::SUCCESS)
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
        Command::Plugin {
            command: PluginCommand::Check { file, fixtures },
        } => {
            let report = switchboard::plugin_check::check(&file, &fixtures).await?;
            print!("{}", report.render());
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Plugin {
            command: PluginCommand::Versions { name, host, token },
        } => {
            let url = format!("{}/admin/v1/plugins/{name}", host.trim_end_matches('/'));
            let request = reqwest::Client::new().get(&url).bearer_auth(&token);
            let Some(body) = admin_call(&name, &url, request).await? else {
                return Ok(ExitCode::FAILURE);
            };
            for v in body["versions"].as_array().into_iter().flatten() {
                let when = jiff::Timestamp::from_millisecond(v["created_at"].as_i64().unwrap_or(0))
                    .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default();
                println!(
                    "{name} v{}  {}  {}  sha256 {}  {when}",
                    v["version"],
                    if v["active"] == true {
                        "active"
                    } else {
                        "      "
                    },
                    v["world"].as_str().unwrap_or_default(),
                    v["hash"]
                        .as_str()
                        .unwrap_or_default()
                        .get(..12)
                        .unwrap_or_default(),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command:
                PluginCommand::Rollback {
                    name,
                    version,
                    host,
                    token,
                },
        } => {
            let url = format!(
                "{}/admin/v1/plugins/{name}/rollback",
                host.trim_end_matches('/')
            );
            let request = reqwest::Client::new()
                .post(&url)
                .bearer_auth(&token)
                .json(&serde_json::json!({ "version": version }));
            let Some(body) = admin_call(&name, &url, request).await? else {
                return Ok(ExitCode::FAILURE);
            };
            println!(
                "{name}: version {} runs ({})",
                body["version"],
                body["world"].as_str().unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(config: Option<PathBuf>, watch: bool) -> anyhow::Result<ExitCode> {
    let config = match config {
        Some(path) => Config::load(&path)?,
        None => Config::default(),
    };
    let listen = config.server.listen;
    let limits = switchboard::server::listener::Limits {
        max_connections: config.server.max_connections,
        header_read_timeout: std::time::Duration::from_millis(config.server.header_read_timeout_ms),
    };
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
    let live = host.live.clone();
    let stop = async move {
        shutdown_signal().await;
        tracing::info!("stopping: no new connections, closing agents' event streams");
        live.close();
    };
    let deadline = std::time::Duration::from_millis(host.config.server.shutdown_deadline_ms);
    switchboard::server::serve(host.router(), listener, stop, limits, deadline).await?;
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
