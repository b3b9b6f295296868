//! `cargo xtask check-architecture`: the rules the host's layout keeps (ARCHITECTURE.md).
//!
//! - No import cycle in `host/src`, between files or between top-level modules: imports run one
//!   way. A path through a `mod.rs` re-export (`pub use child::Name`) counts as an import of the
//!   file that defines the name, so a folder's `mod.rs` is no hub.
//! - No file over 600 lines of non-test code (the code before a module-level `#[cfg(test)]`).
//! - The database drivers (`rusqlite`, `tokio_postgres`, `deadpool_postgres`) appear only under
//!   `host/src/store/`: nothing else knows the engine.
//!
//! It reads the source as text (no compiler): `use` trees and inline `crate::`/`super::` paths,
//! resolved against the files that exist (a relative path inside an inline `mod name { ... }`
//! starts from that module). It runs in `cargo xtask test` as a unit test.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The crates that talk to a database; only the store names them.
const DRIVERS: &[&str] = &["rusqlite", "tokio_postgres", "deadpool_postgres"];

/// The longest a file may be before its tests.
pub const MAX_CODE_LINES: usize = 600;

/// One source file as a module.
struct File {
    /// `store::sqlite::acd`; the crate root is empty.
    module: Vec<String>,
    is_mod_rs: bool,
    code: String,
}

/// What the check found; empty when the layout keeps every rule.
#[derive(Debug, Default)]
pub struct Findings {
    pub file_cycles: Vec<Vec<String>>,
    pub module_cycles: Vec<Vec<String>>,
    pub long_files: Vec<(String, usize)>,
    /// (file, the driver it names).
    pub driver_outside_store: Vec<(String, String)>,
}

impl Findings {
    pub fn is_empty(&self) -> bool {
        self.file_cycles.is_empty()
            && self.module_cycles.is_empty()
            && self.long_files.is_empty()
            && self.driver_outside_store.is_empty()
    }

    pub fn report(&self) -> String {
        let mut out = String::new();
        for cycle in &self.file_cycles {
            out.push_str(&format!(
                "import cycle between files: {}\n",
                cycle.join(" → ")
            ));
        }
        for cycle in &self.module_cycles {
            out.push_str(&format!(
                "import cycle between modules: {}\n",
                cycle.join(" → ")
            ));
        }
        for (file, lines) in &self.long_files {
            out.push_str(&format!(
                "{file}: {lines} lines of non-test code (at most {MAX_CODE_LINES})\n"
            ));
        }
        for (file, driver) in &self.driver_outside_store {
            out.push_str(&format!(
                "{file}: names `{driver}`, which only host/src/store/ may\n"
            ));
        }
        out
    }
}

/// Checks the crate whose `src` folder is `src` (its `lib.rs` is the root; `main.rs` and
/// `bin/` take no part in the import graph, since nothing imports them, but keep the other rules).
pub fn check(src: &Path) -> anyhow::Result<Findings> {
    let mut files = Vec::new();
    collect(src, src, &mut files)?;
    let by_module: HashMap<Vec<String>, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.clone(), i))
        .collect();
    let reexports: Vec<HashMap<String, Vec<String>>> = files.iter().map(reexports_of).collect();
    let mut findings = Findings::default();
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); files.len()];
    for (i, file) in files.iter().enumerate() {
        let name = display(&file.module, file.is_mod_rs);
        let lines = file.code.lines().count();
        if lines > MAX_CODE_LINES {
            findings.long_files.push((name.clone(), lines));
        }
        if file.module.first().is_none_or(|m| m != "store")
            && let Some(driver) = DRIVERS.iter().find(|d| file.code.contains(**d))
        {
            findings
                .driver_outside_store
                .push((name.clone(), driver.to_string()));
        }
        for path in paths_in(file) {
            if let Some(target) = resolve(&path, &by_module, &files, &reexports, 0)
                && target != i
            {
                edges[i].insert(target);
            }
        }
    }
    // The binary's files (`main.rs`, `bin/`) import the library and nothing imports them, so
    // they take no part in cycles; they keep the length and driver rules all the same.
    for (name, code) in binary_files(src)? {
        let lines = code.lines().count();
        if lines > MAX_CODE_LINES {
            findings.long_files.push((name.clone(), lines));
        }
        if let Some(driver) = DRIVERS.iter().find(|d| code.contains(**d)) {
            findings
                .driver_outside_store
                .push((name, driver.to_string()));
        }
    }
    for scc in strongly_connected(&edges) {
        if scc.len() > 1 {
            findings.file_cycles.push(
                scc.iter()
                    .map(|&i| display(&files[i].module, files[i].is_mod_rs))
                    .collect(),
            );
        }
    }
    // The same between top-level modules (`store`, `acd`, ...).
    let tops: Vec<String> = {
        let set: BTreeSet<String> = files
            .iter()
            .filter_map(|f| f.module.first().cloned())
            .collect();
        set.into_iter().collect()
    };
    let top_index: HashMap<&str, usize> = tops
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut top_edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); tops.len()];
    for (i, targets) in edges.iter().enumerate() {
        let Some(from) = files[i].module.first() else {
            continue;
        };
        for &t in targets {
            if let Some(to) = files[t].module.first()
                && to != from
            {
                top_edges[top_index[from.as_str()]].insert(top_index[to.as_str()]);
            }
        }
    }
    for scc in strongly_connected(&top_edges) {
        if scc.len() > 1 {
            findings
                .module_cycles
                .push(scc.iter().map(|&i| tops[i].clone()).collect());
        }
    }
    Ok(findings)
}

/// `main.rs` and the files under `bin/`, by their path under `src`, each before its tests.
fn binary_files(src: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    let mut pending = vec![src.join("main.rs"), src.join("bin")];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
            let name = path.strip_prefix(src)?.to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path)?;
            found.push((name, code_before_tests(&text)));
        }
    }
    found.sort();
    Ok(found)
}

fn display(module: &[String], is_mod_rs: bool) -> String {
    match (module.is_empty(), is_mod_rs) {
        (true, _) => "lib.rs".into(),
        (false, true) => format!("{}/mod.rs", module.join("/")),
        (false, false) => format!("{}.rs", module.join("/")),
    }
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<File>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let relative = path.strip_prefix(root)?.to_path_buf();
        if path.is_dir() {
            if relative != Path::new("bin") {
                collect(root, &path, files)?;
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || relative == Path::new("main.rs") {
            continue;
        }
        let mut module: Vec<String> = relative
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let is_mod_rs = module.last().is_some_and(|m| m == "mod");
        if is_mod_rs || module == ["lib"] {
            module.pop();
        }
        let text = std::fs::read_to_string(&path)?;
        files.push(File {
            module,
            is_mod_rs,
            code: code_before_tests(&text),
        });
    }
    Ok(())
}

/// The text before the first module-level `#[cfg(test)]`.
///
/// A module-level `#[cfg(test)]` on a one-line item (`mod test_support;`, `use x::y;`) skips
/// that item only; one on a block (`mod tests { ... }`) ends the code.
fn code_before_tests(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("#[cfg(test)]") {
            match lines.peek() {
                Some(next) if next.trim_end().ends_with(';') => {
                    lines.next();
                    continue;
                }
                _ => break,
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The module paths a file names, absolute (`["store", "api", "Store"]`).
fn paths_in(file: &File) -> Vec<Vec<String>> {
    let code = strip_comments(&file.code);
    let mut paths = Vec::new();
    // `use` trees.
    let inline = inline_modules(&code);
    let mut rest = code.as_str();
    while let Some(at) = find_word(rest, "use") {
        let module = module_at(file, &inline, code.len() - rest.len() + at);
        let after = &rest[at + 3..];
        let Some(end) = after.find(';') else { break };
        let tree: String = after[..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for path in expand(&tree) {
            if let Some(abs) = absolute(&path, file, &module) {
                paths.push(abs);
            }
        }
        rest = &after[end..];
    }
    // Inline paths, outside the `use` statements read above.
    let code = without_use_statements(&code);
    let inline = inline_modules(&code);
    // Paths into a child module the file declares (`child::f()`), besides `crate::`/`super::`.
    let children: Vec<String> = declared_children(file)
        .into_iter()
        .map(|c| format!("{c}::"))
        .collect();
    let starts: Vec<&str> = ["crate::", "super::"]
        .into_iter()
        .chain(children.iter().map(String::as_str))
        .collect();
    for start in starts {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(start) {
            let module = module_at(file, &inline, code.len() - rest.len() + at);
            let preceded = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            let tail = &rest[at..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            if !preceded {
                let path: Vec<String> = tail[..len]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                if let Some(abs) = absolute(&path, file, &module) {
                    paths.push(abs);
                }
            }
            rest = &tail[len.max(1)..];
        }
    }
    paths
}

/// The inline modules (`mod name { ... }`) in `code`, each with the byte range of its body, an
/// outer module before the modules inside it.
fn inline_modules(code: &str) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = find_word(&code[from..], "mod") {
        from += at + 3;
        let after = code[from..].trim_start();
        let name_len = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let (name, tail) = after.split_at(name_len);
        let tail = tail.trim_start();
        if name.is_empty() || !tail.starts_with('{') {
            continue;
        }
        let open = code.len() - tail.len();
        let mut depth = 0usize;
        let mut close = code.len();
        for (i, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        close = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push((name.to_string(), open + 1..close));
    }
    out
}

/// The module the code at `offset` of `file` is in: the file's, then the inline modules around
/// the offset.
fn module_at(file: &File, inline: &[(String, Range<usize>)], offset: usize) -> Vec<String> {
    file.module
        .iter()
        .cloned()
        .chain(
            inline
                .iter()
                .filter(|(_, body)| body.contains(&offset))
                .map(|(name, _)| name.clone()),
        )
        .collect()
}

fn without_use_statements(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        out.push_str(&rest[..at]);
        match rest[at..].find(';') {
            Some(end) => rest = &rest[at + end + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

fn strip_comments(code: &str) -> String {
    code.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let at = from + at;
        let before = text[..at].chars().last();
        let after = text[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if boundary(before) && after.is_some_and(|c| c.is_whitespace()) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e` (renames and globs reduced to the path).
fn expand(tree: &str) -> Vec<Vec<String>> {
    fn go(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let head: Vec<String> = tree[..open]
                .split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut start = 0;
            let full: Vec<String> = prefix.iter().cloned().chain(head).collect();
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        go(&full, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            go(&full, &inner[start..], out);
        } else {
            let tree = tree.split(" as ").next().unwrap_or("").trim();
            if tree.is_empty() {
                return;
            }
            let mut path: Vec<String> = prefix.to_vec();
            path.extend(
                tree.split("::")
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && *s != "*" && *s != "self")
                    .map(str::to_string),
            );
            out.push(path);
        }
    }
    let mut out = Vec::new();
    go(
        &[],
        tree.trim_start_matches("pub ")
            .trim_start_matches("pub(crate) "),
        &mut out,
    );
    out
}

/// A path as seen from `module` (`file`'s own, or an inline module in it), made absolute; `None`
/// for other crates.
fn absolute(path: &[String], file: &File, module: &[String]) -> Option<Vec<String>> {
    let first = path.first()?;
    if module == file.module.as_slice() && declares_child(file, first) {
        // `use child::Name` in the module that declares `mod child;`.
        return Some(file.module.iter().chain(path).cloned().collect());
    }
    match first.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "super" | "self" => {
            // The module a relative path starts from: `x.rs` and `x/mod.rs` are both module x.
            let mut base = module.to_vec();
            let mut rest = path;
            while let Some(seg) = rest.first() {
                match seg.as_str() {
                    "super" => {
                        base.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            Some(base)
        }
        _ => None,
    }
}

/// The child modules `file` declares (`mod name;`, `pub mod name;`).
fn declared_children(file: &File) -> Vec<String> {
    file.code
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line
                .strip_prefix("pub(crate) ")
                .or_else(|| line.strip_prefix("pub "))
                .unwrap_or(line);
            let name = line.strip_prefix("mod ")?.strip_suffix(';')?.trim();
            Some(name.to_string())
        })
        .collect()
}

/// Whether `file` declares a child module `name` (`mod name;` or `pub mod name;`).
fn declares_child(file: &File, name: &str) -> bool {
    file.code.lines().any(|line| {
        let line = line.trim();
        let line = line
            .strip_prefix("pub(crate) ")
            .or_else(|| line.strip_prefix("pub "))
            .unwrap_or(line);
        line.strip_prefix("mod ")
            .is_some_and(|rest| rest.trim_end_matches(';').trim() == name)
    })
}

/// The names a `mod.rs` (or `lib.rs`) re-exports, with the path each comes from.
fn reexports_of(file: &File) -> HashMap<String, Vec<String>> {
    let mut map = HashMap::new();
    if !file.is_mod_rs && !file.module.is_empty() {
        return map;
    }
    for line in strip_comments(&file.code).split(';') {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(tree) = line
            .strip_prefix("pub use ")
            .or_else(|| line.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        for path in expand(tree) {
            let path = if path
                .first()
                .is_some_and(|s| s == "crate" || s == "super" || s == "self")
            {
                absolute(&path, file, &file.module)
            } else {
                // Relative to this module (`pub use child::Name`).
                Some(file.module.iter().cloned().chain(path).collect())
            };
            if let Some(path) = path
                && let Some(name) = path.last()
            {
                map.insert(name.clone(), path);
            }
        }
    }
    map
}

/// The file an absolute path lands in: the deepest module file it names, through `mod.rs`
/// re-exports to the file that defines the name.
fn resolve(
    path: &[String],
    by_module: &HashMap<Vec<String>, usize>,
    files: &[File],
    reexports: &[HashMap<String, Vec<String>>],
    depth: usize,
) -> Option<usize> {
    for len in (0..=path.len()).rev() {
        let Some(&i) = by_module.get(&path[..len].to_vec()) else {
            continue;
        };
        if depth < 8
            && let Some(name) = path.get(len)
            && let Some(target) = reexports[i].get(name)
        {
            let mut next = target.clone();
            next.extend(path[len + 1..].iter().cloned());
            if next != path {
                return resolve(&next, by_module, files, reexports, depth + 1).or(Some(i));
            }
        }
        return Some(i);
    }
    None
}

/// Tarjan's strongly connected components.
fn strongly_connected(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in s.edges[v].iter() {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                scc.push(w);
                if w == v {
                    break;
                }
            }
            scc.reverse();
            s.out.push(scc);
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

/// Line counts of a crate's files, for the closing notes: (file, non-test lines, all lines).
pub fn line_counts(src: &Path) -> anyhow::Result<BTreeMap<String, (usize, usize)>> {
    let mut files = Vec::new();
    collect(src, src, &mut files)?;
    let mut out = BTreeMap::new();
    for f in files {
        let name = display(&f.module, f.is_mod_rs);
        let path = src.join(&name);
        let all = std::fs::read_to_string(&path)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        out.insert(name, (f.code.lines().count(), all));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_crate(files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-architecture-{}-{}",
            std::process::id(),
            files.len()
                + files
                    .iter()
                    .map(|(p, c)| p.len() * 31 + c.len())
                    .sum::<usize>()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn cycles_through_reexports_and_inline_paths_are_found() {
        let dir = temp_crate(&[
            ("lib.rs", "pub mod a;\npub mod b;\n"),
            ("a/mod.rs", "mod x;\npub use x::Thing;\n"),
            ("a/x.rs", "use crate::b::Other;\npub struct Thing;\n"),
            (
                "b.rs",
                "pub struct Other;\nfn f() { let _ = crate::a::Thing; }\n",
            ),
        ]);
        let findings = check(&dir).unwrap();
        assert_eq!(
            findings.file_cycles,
            [vec!["a/x.rs".to_string(), "b.rs".into()]]
        );
        assert_eq!(findings.module_cycles, [vec!["a".to_string(), "b".into()]]);
    }

    #[test]
    fn a_child_that_imports_what_its_parent_defines_is_a_cycle() {
        let dir = temp_crate(&[
            ("lib.rs", "pub mod p;\n"),
            (
                "p/mod.rs",
                "mod child;\npub use child::Thing;\npub fn helper() {}\n",
            ),
            ("p/child.rs", "use super::helper;\npub struct Thing;\n"),
        ]);
        let findings = check(&dir).unwrap();
        assert_eq!(
            findings.file_cycles,
            [vec!["p/child.rs".to_string(), "p/mod.rs".into()]]
        );
    }

    #[test]
    fn paths_inside_an_inline_module_start_from_it() {
        // `super::` in `mod y { ... }` of `b.rs` is module `b`, not the crate root: `b.rs` does
        // not import `lib.rs` (which re-exports from it), and it does import `c.rs`.
        let dir = temp_crate(&[
            ("lib.rs", "pub mod b;\npub mod c;\npub use b::Thing;\n"),
            (
                "b.rs",
                "pub struct Thing;\nmod x {\n    pub struct X;\n}\nmod y {\n    \
                 pub type Y = super::x::X;\n    pub type Z = super::super::c::Z;\n    \
                 mod deeper {\n        use super::super::x::X;\n    }\n}\n",
            ),
            (
                "c.rs",
                "pub struct Z;\nfn f() { let _ = crate::b::Thing; }\n",
            ),
        ]);
        let findings = check(&dir).unwrap();
        assert_eq!(
            findings.file_cycles,
            [vec!["b.rs".to_string(), "c.rs".into()]]
        );
        assert_eq!(findings.module_cycles, [vec!["b".to_string(), "c".into()]]);
    }

    #[test]
    fn a_layered_crate_passes_and_long_files_and_drivers_are_reported() {
        let long = "fn f() {}\n".repeat(MAX_CODE_LINES + 1);
        let tests = format!(
            "fn f() {{}}\n#[cfg(test)]\nmod tests {{\n{}}}\n",
            "// x\n".repeat(700)
        );
        let dir = temp_crate(&[
            ("lib.rs", "pub mod store;\npub mod top;\n"),
            (
                "store/mod.rs",
                "mod api;\npub use api::Store;\nuse rusqlite::Connection;\n",
            ),
            ("store/api.rs", "pub trait Store {}\n"),
            (
                "top.rs",
                "use crate::store::{Store, self};\nuse super::store::Store as S;\n",
            ),
            ("long.rs", &long),
            ("tested.rs", &tests),
            ("driver.rs", "use rusqlite::Connection;\n"),
            ("pg.rs", "fn f(c: &tokio_postgres::Client) {}\n"),
        ]);
        let findings = check(&dir).unwrap();
        assert!(findings.file_cycles.is_empty(), "{findings:?}");
        assert!(findings.module_cycles.is_empty(), "{findings:?}");
        assert_eq!(
            findings.long_files,
            [("long.rs".to_string(), MAX_CODE_LINES + 1)]
        );
        let mut drivers = findings.driver_outside_store.clone();
        drivers.sort();
        assert_eq!(
            drivers,
            [
                ("driver.rs".to_string(), "rusqlite".to_string()),
                ("pg.rs".to_string(), "tokio_postgres".to_string())
            ]
        );
    }

    #[test]
    fn the_binary_files_keep_the_length_and_driver_rules() {
        let long = "fn f() {}\n".repeat(MAX_CODE_LINES + 1);
        let dir = temp_crate(&[
            ("lib.rs", "pub mod a;\n"),
            ("a.rs", "pub fn f() {}\n"),
            ("main.rs", &long),
            ("bin/tool.rs", "use rusqlite::Connection;\nfn main() {}\n"),
        ]);
        let findings = check(&dir).unwrap();
        assert!(findings.file_cycles.is_empty(), "{findings:?}");
        assert_eq!(
            findings.long_files,
            [("main.rs".to_string(), MAX_CODE_LINES + 1)]
        );
        assert_eq!(
            findings.driver_outside_store,
            [("bin/tool.rs".to_string(), "rusqlite".to_string())]
        );
    }

    #[test]
    fn calls_into_a_child_and_test_only_items_are_read() {
        let dir = temp_crate(&[
            ("lib.rs", "pub mod p;\n"),
            (
                "p/mod.rs",
                "mod child;\n#[cfg(test)]\nmod helpers;\npub struct State;\npub fn routes() { child::routes(); }\nfn more() {}\n",
            ),
            ("p/child.rs", "use super::State;\npub fn routes() {}\n"),
        ]);
        let findings = check(&dir).unwrap();
        assert_eq!(
            findings.file_cycles,
            [vec!["p/child.rs".to_string(), "p/mod.rs".into()]]
        );
    }

    /// The rule itself, on the host.
    #[test]
    fn the_host_keeps_its_architecture() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src");
        let findings = check(&src).unwrap();
        assert!(findings.is_empty(), "{}", findings.report());
    }
}
