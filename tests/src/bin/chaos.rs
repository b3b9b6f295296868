//! The fault campaign behind `cargo xtask chaos`; see `switchboard_tests::chaos` and the
//! README's "Fault campaign" section.
//!
//! ```text
//! chaos [--seconds 120] [--seed S] [--kills 20] [--customers 20] [--callers 4] [--out target/chaos]
//! ```
//!
//! Needs the host binary (`SWITCHBOARD_BIN`) and the built plugins (`SWITCHBOARD_PLUGINS_DIR`),
//! which xtask provides. Prints the table, writes `OUT/report.json` and `OUT/host.log`, and
//! exits 1 when the checker finds a broken promise (with the command that replays the seed).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use switchboard_tests::chaos::{self, Plan};
use switchboard_tests::harness::workspace_dir;

const USAGE: &str =
    "usage: chaos [--seconds N] [--seed S] [--kills N] [--customers N] [--callers N] [--out DIR]";

#[tokio::main]
async fn main() -> ExitCode {
    let plan = match parse(std::env::args().skip(1).collect()) {
        Ok(Some(plan)) => plan,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("chaos: {e:#}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    println!(
        "chaos: seed {} ({} s, {} kills, {} customers, {} asking for an agent); replay with --seed {}",
        plan.seed, plan.seconds, plan.kills, plan.customers, plan.callers, plan.seed
    );
    match chaos::run(&plan).await {
        Ok(report) => {
            print!("{}", report.table());
            println!(
                "chaos: wrote {}",
                plan.out_dir.join("report.json").display()
            );
            if report.clean {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "chaos: the checker found broken promises; replay: {}",
                    report.replay
                );
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("chaos: {e:#} (seed {})", plan.seed);
            ExitCode::FAILURE
        }
    }
}

fn parse(args: Vec<String>) -> anyhow::Result<Option<Plan>> {
    let mut plan = Plan::new(workspace_dir().join("target").join("chaos"));
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        if matches!(flag.as_str(), "-h" | "--help") {
            return Ok(None);
        }
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .with_context(|| format!("{flag} needs a value"))?,
        };
        let number = || -> anyhow::Result<u64> {
            value
                .parse()
                .with_context(|| format!("{flag} {value:?} is not a number"))
        };
        match flag.as_str() {
            "--seconds" => plan.seconds = number()?,
            "--seed" => plan.seed = number()?,
            "--kills" => plan.kills = number()?,
            "--customers" => plan.customers = usize::try_from(number()?)?,
            "--callers" => plan.callers = usize::try_from(number()?)?,
            "--out" => plan.out_dir = PathBuf::from(&value),
            other => bail!("unexpected argument {other:?}"),
        }
    }
    if plan.seconds < 5 {
        bail!("--seconds must be at least 5");
    }
    if plan.customers == 0 {
        bail!("--customers must be positive");
    }
    Ok(Some(plan))
}
