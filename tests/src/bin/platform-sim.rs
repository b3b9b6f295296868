//! `platform-sim --config switchboard.toml [--listen 127.0.0.1:9090]`
//!
//! The platform simulator as a program, for `cargo xtask serve` and for people following the README:
//! it reads the host's config, plays X and the open-messaging partners for its integrations, prints
//! what it receives and how to write to the host as a customer, and runs until Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;
use switchboard_tests::host_config::sim_setup_from_host_config;
use switchboard_tests::sim::PlatformSim;

const USAGE: &str = "usage: platform-sim --config switchboard.toml [--listen 127.0.0.1:9090]";
const DEFAULT_LISTEN: &str = "127.0.0.1:9090";

struct Args {
    config: String,
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("platform-sim: {e:#}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("platform-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(None)` means help was asked for.
fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Option<Args>> {
    let mut config = None;
    let mut listen = DEFAULT_LISTEN.to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--config" => config = Some(args.next().context("--config needs a file")?),
            "--listen" => listen = args.next().context("--listen needs an address")?,
            other => bail!("unexpected argument {other:?}"),
        }
    }
    let Some(config) = config else {
        bail!("--config is required");
    };
    let listen = listen
        .parse()
        .with_context(|| format!("--listen {listen:?} is not an address like {DEFAULT_LISTEN}"))?;
    Ok(Some(Args { config, listen }))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config))?;
    let mut setup = sim_setup_from_host_config(&text, args.listen)
        .with_context(|| format!("in {}", args.config))?;
    setup.config.verbose = true;
    let sim = PlatformSim::start(setup.config.clone()).await?;
    let config = &setup.config;
    let base = sim.base_url();
    let host = config.host_base_url.as_deref().unwrap_or_default();
    println!("[sim] platform simulator on {base}; customers write to the host at {host}");
    for account in &config.x_accounts {
        println!(
            "[sim]   X integration {}: send API {base}/2/dm_conversations/with/{{participant_id}}/messages",
            account.integration_id
        );
    }
    for partner in &config.open_messaging {
        println!(
            "[sim]   open-messaging integration {}: partner webhook {base}/open-messaging/{}",
            partner.integration_id, partner.path
        );
    }
    for number in &config.whatsapp {
        println!(
            "[sim]   WhatsApp integration {}: send API {base}/{{api_version}}/{}/messages",
            number.integration_id, number.phone_number_id
        );
    }
    for page in &config.meta_pages {
        println!(
            "[sim]   {:?} integration {}: send API {base}/{{api_version}}/me/messages (account {})",
            page.platform, page.integration_id, page.page_id
        );
    }
    for note in &setup.notes {
        println!("[sim] note: {note}");
    }
    println!("\nWrite to the host as a customer:");
    if let Some(account) = config.x_accounts.first() {
        let body = json!({
            "integration": account.integration_id,
            "from": "dana_fixture",
            "text": "Hi, my parcel has not arrived",
        });
        println!("  curl -s {base}/sim/x/dm -H 'content-type: application/json' -d '{body}'");
    }
    if let Some(partner) = config.open_messaging.first() {
        let body = json!({
            "integration": partner.integration_id,
            "from": "cust-42",
            "nickname": "Dana",
            "text": "Hi, I need help",
        });
        println!(
            "  curl -s {base}/sim/open-messaging/message -H 'content-type: application/json' -d '{body}'"
        );
    }
    if let Some(number) = config.whatsapp.first() {
        let body = json!({
            "integration": number.integration_id,
            "from": "4915112345678",
            "name": "Jonas",
            "text": "Hi, where is my parcel? The order is 12-345.",
        });
        println!(
            "  curl -s {base}/sim/whatsapp/message -H 'content-type: application/json' -d '{body}'"
        );
    }
    for page in &config.meta_pages {
        let route = match page.platform {
            switchboard_tests::sim::MetaPlatform::Messenger => "messenger",
            switchboard_tests::sim::MetaPlatform::Instagram => "instagram",
        };
        let body = json!({
            "from": "7000000000000004",
            "integration": page.integration_id,
            "text": "Hi, where is my order?",
        });
        println!(
            "  curl -s {base}/sim/{route}/message -H 'content-type: application/json' -d '{body}'"
        );
    }
    println!("See what reached the customers (and what was refused):");
    println!("  curl -s {base}/sim/delivered");
    println!("  curl -s {base}/sim/refused");
    println!("\nCtrl-C stops the simulator.\n");

    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    println!("[sim] stopping");
    sim.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Option<Args>> {
        parse_args(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn parses_config_and_listen() {
        let args = parse(&["--config", "switchboard.toml"]).unwrap().unwrap();
        assert_eq!(
            (args.config.as_str(), args.listen),
            ("switchboard.toml", DEFAULT_LISTEN.parse().unwrap())
        );
        let args = parse(&["--listen", "127.0.0.1:9191", "--config", "c.toml"])
            .unwrap()
            .unwrap();
        assert_eq!(args.listen, "127.0.0.1:9191".parse().unwrap());
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&[]).is_err());
        assert!(parse(&["--config"]).is_err());
        assert!(parse(&["--config", "c.toml", "--listen", "nine"]).is_err());
        assert!(parse(&["--verbose"]).is_err());
    }
}
