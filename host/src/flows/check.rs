//! `switchboard flow validate FILE...`: every file checked in one run, each error once, as the
//! `FILE:LINE:COL: message` lines editors and CI read, or as JSON (`--format json`). The exit
//! code tells an invalid flow (1) from a file or configuration that cannot be read (2).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use super::files::{plugin_kinds_for, validate_flow_file};
use crate::config::Config;
use crate::engine::FlowError;

/// What one file turned out to be.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// A flow with this many steps.
    Ok { steps: usize },
    /// Not a valid flow: every problem found.
    Invalid { errors: Vec<FlowError> },
    /// The file (or what checking it needs) cannot be read.
    Unreadable { message: String },
}

/// One file and what it turned out to be.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub file: PathBuf,
    pub outcome: Outcome,
}

/// The exit code when every file is a valid flow.
pub const EXIT_OK: u8 = 0;
/// The exit code when a file is not a valid flow.
pub const EXIT_INVALID: u8 = 1;
/// The exit code when a file or the configuration cannot be read (it wins over `EXIT_INVALID`).
pub const EXIT_UNREADABLE: u8 = 2;

/// Checks every file; with a configuration, also its queues, schedule groups and the kinds of
/// the plugins in its plugins folder.
pub async fn check_files(files: &[PathBuf], config: Option<&Config>) -> Vec<FileReport> {
    let queues: Option<HashSet<String>> =
        config.map(|c| c.queues.iter().map(|q| q.id.clone()).collect());
    let groups: Option<HashSet<String>> =
        config.map(|c| c.schedule_groups.iter().map(|g| g.id.clone()).collect());
    let mut reports = Vec::with_capacity(files.len());
    for file in files {
        let outcome = check_one(file, config, queues.as_ref(), groups.as_ref()).await;
        reports.push(FileReport {
            file: file.clone(),
            outcome,
        });
    }
    reports
}

async fn check_one(
    file: &Path,
    config: Option<&Config>,
    queues: Option<&HashSet<String>>,
    groups: Option<&HashSet<String>>,
) -> Outcome {
    let plugins = match config {
        Some(config) => match plugin_kinds_for(file, config).await {
            Ok(kinds) => Some(kinds),
            Err(e) => {
                return Outcome::Unreadable {
                    message: format!("{e:#}"),
                };
            }
        },
        None => None,
    };
    match validate_flow_file(file, queues, plugins.as_ref(), groups) {
        Ok(Ok(flow)) => Outcome::Ok {
            steps: flow.steps.len(),
        },
        Ok(Err(errors)) => Outcome::Invalid { errors },
        Err(e) => Outcome::Unreadable {
            message: format!("{e:#}"),
        },
    }
}

/// The exit code for these reports.
pub fn exit_code(reports: &[FileReport]) -> u8 {
    let any = |f: fn(&Outcome) -> bool| reports.iter().any(|r| f(&r.outcome));
    if any(|o| matches!(o, Outcome::Unreadable { .. })) {
        EXIT_UNREADABLE
    } else if any(|o| matches!(o, Outcome::Invalid { .. })) {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}

/// One line per error (`FILE:LINE:COL: message`, or `FILE: message` without a position), then
/// one summary line per file: `FILE: ok (N steps)`, `FILE: N error(s)` or `FILE: cannot read`.
pub fn render_text(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for report in reports {
        let file = report.file.display();
        match &report.outcome {
            Outcome::Ok { steps } => out.push_str(&format!("{file}: ok ({steps} steps)\n")),
            Outcome::Invalid { errors } => {
                for e in errors {
                    out.push_str(&format!("{file}:{e}\n"));
                }
                out.push_str(&format!("{file}: {} error(s)\n", errors.len()));
            }
            Outcome::Unreadable { message } => {
                out.push_str(&format!("{file}: cannot check: {message}\n"))
            }
        }
    }
    out
}

/// `{"files": [{"file", "status": "ok"|"invalid"|"unreadable", "steps"|"errors"|"message"}],
/// "errors": total}`; each error is `{"line", "column", "message"}` (positions may be null).
pub fn render_json(reports: &[FileReport]) -> Value {
    let mut total = 0;
    let files: Vec<Value> = reports
        .iter()
        .map(|report| {
            let mut value = serde_json::to_value(&report.outcome).unwrap_or_default();
            if let Outcome::Invalid { errors } = &report.outcome {
                total += errors.len();
            }
            value["file"] = json!(report.file.display().to_string());
            value
        })
        .collect();
    json!({ "files": files, "errors": total })
}
