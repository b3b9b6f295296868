//! The `switchboard` command: `serve`, `flow validate`, `plugin inspect`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard::app::{self, App};
use switchboard::config::Config;

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
    /// Check a flow file and print every error with its line.
    Validate {
        file: PathBuf,
        /// Also check that the queues it transfers to exist in this configuration.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Load a component as the host would and print what it is.
    Inspect { file: PathBuf },
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
        Command::Serve { config } => serve(config).await,
        Command::Flow {
            command: FlowCommand::Validate { file, config },
        } => {
            let config = config.map(|c| Config::load(&c)).transpose()?;
            let queues = config
                .as_ref()
                .map(|c| c.queues.iter().map(|q| q.id.clone()).collect());
            match app::validate_flow_file(&file, queues.as_ref())? {
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
            command: PluginCommand::Inspect { file },
        } => {
            let runtime = switchboard::runtime::PluginRuntime::new(&Default::default())?;
            let plugin = runtime.load_adapter_file(&file).await?;
            let info = plugin.info();
            println!("plugin:       {}", plugin.name());
            println!(
                "world:        switchboard:channel/adapter@{}",
                plugin.wit_version()
            );
            println!(
                "exports:      switchboard:channel/handler@{}",
                plugin.wit_version()
            );
            println!(
                "imports:      switchboard:channel/logging, switchboard:channel/config, wasi:cli (empty)"
            );
            println!("sha256:       {}", plugin.hash());
            println!("platform:     {}", info.platform);
            println!("text limit:   {} {:?}", info.text_limit, info.text_unit);
            println!(
                "reply window: {}",
                info.reply_window_hours
                    .map_or("none".to_string(), |h| format!("{h} h"))
            );
            println!("capabilities: {:?}", info.capabilities);
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = match config {
        Some(path) => Config::load(&path)?,
        None => Config::default(),
    };
    let listen = config.server.listen;
    let app = App::open(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    app.spawn_workers();
    let integrations: Vec<String> = app
        .integrations()
        .iter()
        .map(|i| format!("/webhooks/{}", i.config.id))
        .collect();
    tracing::info!(
        "switchboard listening on http://{} ({})",
        listener.local_addr()?,
        integrations.join(", ")
    );
    switchboard::server::serve(app, listener, shutdown_signal()).await?;
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
