//! The demo (`switchboard.toml` with the example flows) never strands a conversation: every
//! transfer in every example flow names a configured queue whose agents include one with all
//! the skills (and the language) it asks for, so the demo agent is offered it.

use std::path::{Path, PathBuf};

use switchboard::config::Config;
use switchboard::engine::{Flow, Known, Step};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[test]
fn every_demo_transfer_has_an_agent_who_can_take_it() {
    let root = workspace();
    let config = Config::load(&root.join("switchboard.toml")).expect("the demo configuration");
    let mut transfers = 0;
    let mut stranded = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("flows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let flow = Flow::parse(&source, &Known::default())
            .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
        for (name, step) in &flow.steps {
            let Step::Transfer {
                queue,
                skills,
                language,
                ..
            } = step
            else {
                continue;
            };
            transfers += 1;
            let served = config.agents.iter().any(|agent| {
                agent.queues.contains(queue)
                    && skills
                        .iter()
                        .all(|s| agent.skills.get(s).is_some_and(|p| *p > 0))
                    && language
                        .as_ref()
                        .is_none_or(|l| agent.languages.contains(l))
            });
            if !served {
                stranded.push(format!(
                    "{} step `{name}`: queue `{queue}`, skills {skills:?}, language {language:?}",
                    file.display()
                ));
            }
        }
    }
    assert!(
        transfers >= 5,
        "only {transfers} transfers in the example flows"
    );
    assert!(
        stranded.is_empty(),
        "no demo agent can take these transfers:\n{}",
        stranded.join("\n")
    );
}
