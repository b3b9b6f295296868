//! Generated flow files through `flow validate`: mutations of every example flow in the repository
//! (keys deleted or renamed, values of the wrong type, `next` naming no step or making a cycle,
//! huge strings, deep nesting, aliases of aliases, broken CEL and templates, invalid UTF-8,
//! truncation, random bytes and punctuation), checked by the same code the command runs
//! ([`switchboard::flows::check_files`] and its text rendering), a few also by the real binary.
//!
//! Each must be answered, within a generous deadline and without a panic, as valid or with every
//! error as a `FILE:LINE:COL: message` line; a mutation that keeps the flow valid (reformatted as
//! JSON, keys reordered, a comment, another description) must still validate. The outcomes are
//! counted and printed per mutation and per kind of error.
//!
//! Seeded: `SWITCHBOARD_FUZZ_SEED` (default 1) and `SWITCHBOARD_FUZZ_COUNT` (default 300 in the
//! suite; e.g. `SWITCHBOARD_FUZZ_COUNT=10000 cargo xtask test -p switchboard-tests --test cli
//! flow_fuzz -- --nocapture`). A failure names the seed and the input's number.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_yaml_ng::Value;
use switchboard_tests::fuzz::Rng;
use switchboard_tests::harness::{TempDir, run_cli, workspace_dir};

/// Past this, an input counts as hung (the slowest is printed: this is a margin for a busy
/// machine, not a performance bound).
const DEADLINE: Duration = Duration::from_secs(60);

/// The example flows: the demo's, the tests', and the deliberately invalid one.
fn examples() -> Vec<(String, String)> {
    let root = workspace_dir();
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["flows", "tests/flows", "tests/flows/invalid"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&root).unwrap().display().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

const BROKEN_CEL: &[&str] = &[
    "topic ===",
    "(((",
    "a.b.c(",
    "'unterminated",
    "1 +",
    "size(",
    "x ? y",
    "[1, 2",
    "{'a': }",
    "has(",
    "!!!",
    "🦀 == 1",
    "a.all(x, ",
    "\\u0000",
    "1 / 0",
    "nosuchvar > 3",
    "'text' > 1",
    "message.text.matches('(')",
];

const KEYS: &[&str] = &[
    "type",
    "next",
    "then",
    "else",
    "text",
    "start",
    "steps",
    "queue",
    "variable",
    "condition",
    "cases",
    "when",
    "goto",
    "timeout",
    "on_error",
    "description",
];

/// Every mapping value's path in `value` (keys only; list items by index).
fn paths(value: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                at.push(k.clone());
                out.push(at.clone());
                paths(v, at, out);
                at.pop();
            }
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Value::from(i as u64));
                out.push(at.clone());
                paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// The value at `path` and its parent's key, mutably.
fn at_mut<'a>(value: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    let mut node = value;
    for segment in path {
        node = match node {
            Value::Sequence(items) => items.get_mut(segment.as_u64()? as usize)?,
            Value::Mapping(map) => map.get_mut(segment)?,
            _ => return None,
        };
    }
    Some(node)
}

fn random_path(
    rng: &mut Rng,
    doc: &Value,
    filter: impl Fn(&[Value]) -> bool,
) -> Option<Vec<Value>> {
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    let all: Vec<Vec<Value>> = all.into_iter().filter(|p| filter(p)).collect();
    (!all.is_empty()).then(|| rng.pick(&all).clone())
}

fn long_string(rng: &mut Rng) -> String {
    let len = match rng.below(3) {
        0 => rng.below(1_000),
        1 => rng.below(100_000),
        _ => 1_000_000 + rng.below(1_000_000),
    };
    "é{{ab".chars().cycle().take(len).collect()
}

fn random_value(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => Value::from(rng.next() as i64),
        3 => Value::from(f64::from_bits(rng.next())),
        4 => Value::Sequence(vec![Value::from("a"), Value::from(1)]),
        5 => serde_yaml_ng::from_str("{type: send, next: 7}").unwrap(),
        6 => Value::from(""),
        7 => Value::from(long_string(rng)),
        _ => Value::from(*rng.pick(BROKEN_CEL)),
    }
}

/// Whether a mutation keeps a valid flow valid.
#[derive(Clone, Copy, PartialEq)]
enum Keeps {
    Valid,
    Unknown,
}

/// One generated flow file from an example: what was done, the bytes, and whether it must
/// stay valid.
fn mutate(rng: &mut Rng, examples: &[(String, String)]) -> (&'static str, Vec<u8>, Keeps) {
    let (_, source) = rng.pick(examples);
    let mut doc: Value = serde_yaml_ng::from_str(source).unwrap();
    let yaml = |doc: &Value| serde_yaml_ng::to_string(doc).unwrap().into_bytes();
    let mut bytes = source.as_bytes().to_vec();
    let kind = rng.below(17);
    let what = match kind {
        0 => {
            if let Some(path) = random_path(rng, &doc, |_| true) {
                let (last, parent) = path.split_last().unwrap();
                match at_mut(&mut doc, parent) {
                    Some(Value::Mapping(map)) => {
                        map.remove(last);
                    }
                    Some(Value::Sequence(items)) => {
                        let i = last.as_u64().unwrap_or(0) as usize;
                        if i < items.len() {
                            items.remove(i);
                        }
                    }
                    _ => {}
                }
            }
            bytes = yaml(&doc);
            "a key deleted"
        }
        1 => {
            if let Some(path) = random_path(rng, &doc, |p| p.last().is_some_and(|k| k.is_string()))
            {
                let (last, parent) = path.split_last().unwrap();
                if let Some(Value::Mapping(map)) = at_mut(&mut doc, parent)
                    && let Some(v) = map.remove(last)
                {
                    let new = match rng.below(3) {
                        0 => format!("{}x", last.as_str().unwrap_or_default()),
                        1 => rng.pick(KEYS).to_string(),
                        _ => last.as_str().unwrap_or_default().to_uppercase(),
                    };
                    map.insert(Value::from(new), v);
                }
            }
            bytes = yaml(&doc);
            "a key renamed"
        }
        2 => {
            if let Some(path) = random_path(rng, &doc, |_| true) {
                let value = random_value(rng);
                if let Some(v) = at_mut(&mut doc, &path) {
                    *v = value;
                }
            }
            bytes = yaml(&doc);
            "a value of another type"
        }
        3 | 4 => {
            let refs = |p: &[Value]| {
                p.last().and_then(Value::as_str).is_some_and(|k| {
                    matches!(
                        k,
                        "next" | "then" | "else" | "goto" | "start" | "on_error" | "timeout_next"
                    )
                })
            };
            if let Some(path) = random_path(rng, &doc, refs) {
                let target = match kind {
                    3 => Value::from(["nowhere", "", "steps", "START"][rng.below(4)]),
                    // A cycle: back to the start, or to the step itself.
                    _ => match (path.get(1).and_then(Value::as_str), rng.one_in(2)) {
                        (Some(step), true) => Value::from(step),
                        _ => doc.get("start").cloned().unwrap_or(Value::Null),
                    },
                };
                if let Some(v) = at_mut(&mut doc, &path) {
                    *v = target;
                }
            }
            bytes = yaml(&doc);
            if kind == 3 {
                "a reference to no step"
            } else {
                "a cycle"
            }
        }
        5 => {
            if let Some(path) = random_path(rng, &doc, |_| true) {
                let long = Value::from(long_string(rng));
                if let Some(v) = at_mut(&mut doc, &path) {
                    *v = long;
                }
            }
            bytes = yaml(&doc);
            "a huge string"
        }
        6 => {
            // Deep nesting, in flow style, where a value was.
            let most = if rng.one_in(2) { 200 } else { 100_000 };
            let depth = 1 + rng.below(most);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            // After a key of a line that is not a comment.
            let spots: Vec<usize> = text
                .match_indices(": ")
                .map(|(p, _)| p + 2)
                .filter(|&p| {
                    !text[..p]
                        .rsplit('\n')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('#')
                })
                .collect();
            let at = if spots.is_empty() {
                0
            } else {
                *rng.pick(&spots)
            };
            let (open, close) = if rng.one_in(2) {
                ("[", "]")
            } else {
                ("{a: ", "}")
            };
            let nested = format!("{}{}", open.repeat(depth), close.repeat(depth));
            bytes = format!("{}{}{}", &text[..at], nested, &text[at..]).into_bytes();
            "deeply nested"
        }
        7 => {
            // Aliases of aliases.
            let levels = 1 + rng.below(12);
            let mut bomb = String::from("\nbomb0: &b0 [x, x, x, x, x, x, x, x, x, x]\n");
            for l in 1..levels {
                let items = vec![format!("*b{}", l - 1); 10].join(", ");
                bomb.push_str(&format!("bomb{l}: &b{l} [{items}]\n"));
            }
            bytes.extend(bomb.bytes());
            "aliases of aliases"
        }
        8 => {
            let cel = |p: &[Value]| {
                p.last().and_then(Value::as_str).is_some_and(|k| {
                    matches!(k, "condition" | "when" | "value" | "expression" | "set")
                })
            };
            match random_path(rng, &doc, cel) {
                Some(path) => {
                    let broken = match rng.below(4) {
                        0 => rng.pick(BROKEN_CEL).to_string(),
                        // Deep or long: nested brackets, long sums, member chains.
                        1 => {
                            let n = 1 + rng.below(3_000);
                            match rng.below(4) {
                                0 => format!("{}1{} == 1", "(".repeat(n), ")".repeat(n)),
                                1 => format!("{} == 1", vec!["1"; n].join("+")),
                                2 => format!("message{} == 1", ".text".repeat(n)),
                                _ => "{[(".repeat(n),
                            }
                        }
                        _ => {
                            let old = at_mut(&mut doc, &path)
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default();
                            let mut chars: Vec<char> = old.chars().collect();
                            for _ in 0..=rng.below(4) {
                                let at = rng.below(chars.len() + 1);
                                chars.insert(
                                    at,
                                    *rng.pick(&[
                                        '(', ')', '\'', '"', '.', '=', '!', '[', '\\', '?',
                                    ]),
                                );
                            }
                            chars.into_iter().collect()
                        }
                    };
                    if let Some(v) = at_mut(&mut doc, &path) {
                        *v = Value::from(broken);
                    }
                }
                None => {}
            }
            bytes = yaml(&doc);
            "a broken CEL expression"
        }
        9 => {
            // A broken template in a text.
            let texts = |p: &[Value]| p.last().and_then(Value::as_str) == Some("text");
            if let Some(path) = random_path(rng, &doc, texts)
                && let Some(v) = at_mut(&mut doc, &path)
            {
                let junk = *rng.pick(&[
                    "{{",
                    "{{ }}",
                    "{{customer.",
                    "{{ 1 + }}",
                    "}}{{",
                    "{{{{x}}}}",
                ]);
                *v = Value::from(format!("{}{junk}", v.as_str().unwrap_or_default()));
            }
            bytes = yaml(&doc);
            "a broken template"
        }
        10 => {
            let junk: &[&[u8]] = &[
                b"\xff\xfe",
                b"\xc3\x28",
                b"\xed\xa0\x80",
                b"\xf0\x28\x8c",
                b"\x80",
            ];
            let at = rng.below(bytes.len() + 1);
            bytes.splice(at..at, rng.pick(junk).iter().copied());
            "invalid UTF-8"
        }
        11 => {
            // Truncated, as YAML or as JSON.
            if rng.one_in(2) {
                bytes = serde_json::to_vec_pretty(&doc).unwrap();
            }
            bytes.truncate(rng.below(bytes.len() + 1));
            "truncated"
        }
        12 => {
            bytes = (0..rng.below(2048)).map(|_| rng.next() as u8).collect();
            "random bytes"
        }
        13 => {
            const PUNCTUATION: &[u8] = b":-[]{}&*!|>'\"%@`#,?\n\t \\";
            for _ in 0..=rng.below(8) {
                let at = rng.below(bytes.len() + 1);
                match rng.below(3) {
                    0 if !bytes.is_empty() => {
                        let at = at.min(bytes.len() - 1);
                        bytes[at] ^= 1 << rng.below(7)
                    }
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, *rng.pick(PUNCTUATION)),
                }
            }
            "bytes flipped, dropped or inserted"
        }
        14 => {
            // A step moved into another flow's steps, or steps swapped between examples.
            let (_, other) = rng.pick(examples);
            let other: Value = serde_yaml_ng::from_str(other).unwrap();
            if let (Some(Value::Mapping(steps)), Some(Value::Mapping(theirs))) =
                (doc.get_mut("steps"), other.get("steps"))
                && !theirs.is_empty()
            {
                let (k, v) = theirs.iter().nth(rng.below(theirs.len())).unwrap();
                steps.insert(k.clone(), v.clone());
            }
            bytes = yaml(&doc);
            "a step from another flow"
        }
        _ => {
            // Valid mutations: the same flow, written otherwise.
            let how = rng.below(4);
            bytes = match how {
                0 => serde_json::to_vec_pretty(&doc).unwrap(),
                1 => {
                    if let Some(Value::Mapping(steps)) = doc.get_mut("steps") {
                        let mut entries: Vec<(Value, Value)> =
                            std::mem::take(steps).into_iter().collect();
                        entries.reverse();
                        steps.extend(entries);
                    }
                    yaml(&doc)
                }
                2 => [
                    b"# a comment\n".as_slice(),
                    source.as_bytes(),
                    b"\n# the end\n",
                ]
                .concat(),
                _ => {
                    if let Value::Mapping(map) = &mut doc {
                        map.insert(
                            Value::from("description"),
                            Value::from("fuzzed: ünïcödé, \"quoted\" {{ }}"),
                        );
                    }
                    yaml(&doc)
                }
            };
            return ("rewritten, still the same flow", bytes, Keeps::Valid);
        }
    };
    (what, bytes, Keeps::Unknown)
}

/// What kind of problem an error message names.
fn error_kind(message: &str) -> &'static str {
    let m = message.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&["not utf-8"]) {
        "not UTF-8"
    } else if has(&["values (aliases", "nests deeper", "recursion limit"]) {
        "too large or deep"
    } else if has(&["yaml cannot be read"]) {
        "YAML syntax"
    } else if has(&["expression", "cel", "condition"]) {
        "expression"
    } else if has(&["{{", "template"]) {
        "template"
    } else if has(&[
        "does not exist",
        "names step",
        "no step",
        "not reached",
        "unreachable",
        "never reached",
    ]) {
        "step reference"
    } else if has(&[
        "is not a step type",
        "has no field",
        "must be",
        "missing",
        "needs",
        "expected",
        "is not",
        "should be",
        "unknown",
    ]) {
        "structure or type"
    } else {
        "other"
    }
}

/// What validating one input gave.
enum Answer {
    Valid,
    Invalid { lines: Vec<String> },
    Unreadable(String),
    Panicked(String),
}

/// Validates `path` as `flow validate` does and renders its text, on a thread with a thread's
/// usual stack (a server worker's); a panic is caught and returned.
fn validate(path: PathBuf) -> (Answer, String) {
    let result = std::panic::catch_unwind(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let reports = runtime.block_on(switchboard::flows::check_files(&[path.clone()], None));
        let text = switchboard::flows::render_text(&reports);
        let answer = match &reports[0].outcome {
            switchboard::flows::Outcome::Ok { .. } => Answer::Valid,
            switchboard::flows::Outcome::Invalid { .. } => Answer::Invalid {
                lines: text.lines().map(String::from).collect(),
            },
            switchboard::flows::Outcome::Unreadable { message } => {
                Answer::Unreadable(message.clone())
            }
        };
        (answer, text)
    });
    match result {
        Ok(answer) => answer,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            (Answer::Panicked(message), String::new())
        }
    }
}

/// Whether `line` is `FILE:LINE:COL: message` with positive numbers.
fn located(line: &str, file: &str) -> bool {
    let Some(rest) = line.strip_prefix(file).and_then(|r| r.strip_prefix(':')) else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let number = |p: Option<&str>| {
        p.and_then(|p| p.parse::<usize>().ok())
            .is_some_and(|n| n > 0)
    };
    number(parts.next())
        && number(parts.next())
        && parts
            .next()
            .is_some_and(|m| m.len() > 1 && m.starts_with(' '))
}

#[derive(Default)]
struct Row {
    valid: usize,
    invalid: usize,
    panics: usize,
    slowest: Duration,
}

#[test]
fn generated_flow_files_are_answered_valid_or_with_located_errors() {
    let count = switchboard_tests::fuzz::count(300);
    let seed = switchboard_tests::fuzz::seed();
    let examples = examples();
    let dir = TempDir::new("flow-fuzz");
    let mut rng = Rng::salted(seed, "flow validate");
    let valid_examples: Vec<(String, String)> = examples
        .iter()
        .filter(|(name, _)| !name.contains("invalid"))
        .cloned()
        .collect();
    let mut rows: BTreeMap<&'static str, Row> = BTreeMap::new();
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut problems: Vec<String> = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    let mut through_binary = Vec::new();
    // One worker at a time, so a hang is seen as one; a fresh thread per input keeps a panic or
    // a leak from touching the next.
    for n in 0..count {
        // Valid rewrites only of flows that are valid without a configuration.
        let (what, bytes, keeps) = mutate(
            &mut rng,
            if n % 2 == 0 {
                &valid_examples
            } else {
                &examples
            },
        );
        let path = dir.path().join(format!("input-{}.yaml", n % 8));
        std::fs::write(&path, &bytes).unwrap();
        let input = format!("input {n} (seed {seed}, {what})");
        let (tx, rx) = mpsc::channel();
        let started = Instant::now();
        let worker_path = path.clone();
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let _ = tx.send(validate(worker_path));
            })
            .unwrap();
        let Ok((answer, text)) = rx.recv_timeout(DEADLINE) else {
            panic!("{input} was not answered within {DEADLINE:?}");
        };
        let took = started.elapsed();
        if took > slowest.0 {
            slowest = (took, input.clone());
        }
        let row = rows.entry(what).or_default();
        row.slowest = row.slowest.max(took);
        let file = path.display().to_string();
        match answer {
            Answer::Valid => row.valid += 1,
            Answer::Invalid { lines } => {
                row.invalid += 1;
                if keeps == Keeps::Valid && n % 2 == 0 {
                    problems.push(format!("{input} should still be valid:\n{text}"));
                }
                let (errors, summary) = lines.split_at(lines.len().saturating_sub(1));
                if summary.first().is_none_or(|s| !s.ends_with(" error(s)")) || errors.is_empty() {
                    problems.push(format!("{input}: no summary or no errors:\n{text}"));
                }
                for line in errors {
                    if !located(line, &file) {
                        problems.push(format!("{input}: an error without FILE:LINE:COL: {line}"));
                    }
                    *kinds.entry(error_kind(line)).or_default() += 1;
                }
            }
            Answer::Unreadable(message) => {
                problems.push(format!("{input} was unreadable: {message}"))
            }
            Answer::Panicked(message) => {
                row.panics += 1;
                problems.push(format!("{input} panicked: {message}"));
            }
        }
        // A few through the real binary, which must say the same.
        if n % (count / 12).max(1) == 0 && bytes.len() < 4 * 1024 * 1024 {
            let kept = dir.path().join(format!("binary-{n}.yaml"));
            std::fs::write(&kept, &bytes).unwrap();
            through_binary.push((input.clone(), kept, text.replace(&file, "FILE")));
        }
    }
    for (input, path, expected) in &through_binary {
        let output = run_cli(|c| {
            c.args(["flow", "validate"]).arg(path);
        });
        let stdout = String::from_utf8_lossy(&output.stdout);
        let code = output.status.code();
        let said = stdout.replace(&path.display().to_string(), "FILE");
        let expected_code = if expected.contains(": ok (") {
            Some(0)
        } else {
            Some(1)
        };
        if code != expected_code || said != *expected {
            problems.push(format!(
                "{input} through the binary: exit {code:?} (expected {expected_code:?})\n{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    println!(
        "{count} generated flow files, seed {seed} ({} also through the binary):",
        through_binary.len()
    );
    println!(
        "{:<36} {:>7} {:>8} {:>7} {:>6}  slowest",
        "mutation", "inputs", "invalid", "valid", "panics"
    );
    for (what, row) in &rows {
        println!(
            "{what:<36} {:>7} {:>8} {:>7} {:>6}  {:.0?}",
            row.valid + row.invalid + row.panics,
            row.invalid,
            row.valid,
            row.panics,
            row.slowest
        );
    }
    println!("errors by kind:");
    for (kind, n) in &kinds {
        println!("  {kind:<24} {n:>8}");
    }
    println!(
        "slowest: {:.0?} ({}); problems: {}",
        slowest.0,
        slowest.1,
        problems.len()
    );
    let shown: Vec<&String> = problems.iter().take(20).collect();
    assert!(
        problems.is_empty(),
        "{} problems, the first:\n{}",
        problems.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
