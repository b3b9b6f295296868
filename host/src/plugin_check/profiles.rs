//! Finding a fixtures folder's profiles: `check.toml`, `check-<label>.toml`, and `use`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::adapter_profile::Profile;

/// One profile of a fixtures folder.
#[derive(Debug, Clone)]
pub struct ProfileFile {
    /// "" for `check.toml`, `messenger` for `check-messenger.toml`.
    pub label: String,
    pub path: PathBuf,
    /// The folder its fixture files are in (where a `use` led).
    pub fixtures: PathBuf,
    pub text: String,
}

impl ProfileFile {
    /// Whether it profiles a flow plugin (`kind = "bot"` or `"data-action"`).
    pub(super) fn is_flow(&self) -> anyhow::Result<bool> {
        let value: toml::Table =
            toml::from_str(&self.text).with_context(|| format!("in {}", self.path.display()))?;
        Ok(value.contains_key("kind"))
    }

    /// The adapter profile it holds.
    pub fn adapter(&self) -> anyhow::Result<Profile> {
        toml::from_str(&self.text).with_context(|| format!("in {}", self.path.display()))
    }
}

/// Whether `name` is a profile file: `check.toml` or `check-<label>.toml`.
fn profile_label(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".toml")?;
    if stem == "check" {
        Some("")
    } else {
        stem.strip_prefix("check-")
    }
}

/// The profiles of a fixtures folder, sorted by label (empty when it has none).
pub fn profile_files(dir: &Path) -> anyhow::Result<Vec<ProfileFile>> {
    profile_files_at(dir, 0)
}

fn profile_files_at(dir: &Path, depth: usize) -> anyhow::Result<Vec<ProfileFile>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let Some(label) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(profile_label)
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        files.push(ProfileFile {
            label: label.to_string(),
            fixtures: dir.to_path_buf(),
            path,
            text,
        });
    }
    files.sort_by(|a, b| a.label.cmp(&b.label));
    if let [only] = files.as_slice() {
        let table: toml::Table =
            toml::from_str(&only.text).with_context(|| format!("in {}", only.path.display()))?;
        if let Some(target) = table.get("use") {
            let target = target
                .as_str()
                .with_context(|| format!("{}: `use` is a folder path", only.path.display()))?;
            anyhow::ensure!(
                table.len() == 1 && depth < 4,
                "{}: `use` stands alone and leads to a folder with the profiles",
                only.path.display()
            );
            return profile_files_at(&dir.join(target), depth + 1);
        }
    }
    Ok(files)
}

/// Whether `name` is a profile file (never a fixture).
pub fn is_profile_file(name: &str) -> bool {
    profile_label(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_check_toml_and_check_label_toml_and_use_leads_elsewhere() {
        assert_eq!(profile_label("check.toml"), Some(""));
        assert_eq!(profile_label("check-instagram.toml"), Some("instagram"));
        assert_eq!(profile_label("checks.toml"), None);
        assert_eq!(profile_label("message.json"), None);

        let root =
            std::env::temp_dir().join(format!("plugin-check-profiles-{}", std::process::id()));
        let (rust, js, none) = (root.join("rust"), root.join("js"), root.join("none"));
        for dir in [&rust, &js, &none] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(rust.join("check-b.toml"), "kind = \"bot\"\n").unwrap();
        std::fs::write(rust.join("check-a.toml"), "[settings]\n").unwrap();
        std::fs::write(js.join("check.toml"), "use = \"../rust\"\n").unwrap();
        let found = profile_files(&js).unwrap();
        let labels: Vec<&str> = found.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["a", "b"]);
        assert!(found.iter().all(|p| p.fixtures == js.join("../rust")));
        assert!(!found[0].is_flow().unwrap());
        assert!(found[1].is_flow().unwrap());
        assert!(profile_files(&none).unwrap().is_empty());
        assert!(profile_files(&root.join("missing")).unwrap().is_empty());
        // `use` stands alone.
        std::fs::write(js.join("check.toml"), "use = \"../rust\"\nkind = \"bot\"\n").unwrap();
        assert!(profile_files(&js).is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
