//! Secrets kept out of the configuration file: before the file is read into its sections, any
//! string may name environment variables (`"${X_ACCESS_TOKEN}"`, replaced by their values) and
//! any key `NAME_file = "/run/secrets/x"` stands for `NAME` with that file's contents (a trailing
//! newline dropped), as systemd credentials, Docker and Kubernetes secrets provide them. A
//! variable that is unset or a file that cannot be read is an error naming the key.

use anyhow::{Context, bail};
use toml::{Table, Value};

/// Resolves every reference in `table`, in place; says whether there was any.
pub fn resolve(table: &mut Table) -> anyhow::Result<bool> {
    resolve_table(table, "", &|name| std::env::var(name).ok())
}

fn resolve_table(
    table: &mut Table,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<bool> {
    let mut changed = false;
    let from_files: Vec<String> = table
        .keys()
        .filter(|k| k.ends_with("_file"))
        .cloned()
        .collect();
    for key in from_files {
        let name = key.trim_end_matches("_file").to_string();
        let here = join(path, &key);
        let Some(Value::String(file)) = table.remove(&key) else {
            bail!("`{here}` must be a file path (a string)");
        };
        if table.contains_key(&name) {
            bail!(
                "`{here}` and `{}` are both set; keep one",
                join(path, &name)
            );
        }
        let file = substitute(&file, &here, env)?;
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("`{here}`: cannot read {file}"))?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        table.insert(name, Value::String(text.to_string()));
        changed = true;
    }
    for (key, value) in table.iter_mut() {
        changed |= resolve_value(value, &join(path, key), env)?;
    }
    Ok(changed)
}

fn resolve_value(
    value: &mut Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<bool> {
    match value {
        Value::String(s) => {
            let resolved = substitute(s, path, env)?;
            let changed = resolved != *s;
            *s = resolved;
            Ok(changed)
        }
        Value::Table(t) => resolve_table(t, path, env),
        Value::Array(items) => {
            let mut changed = false;
            for (i, item) in items.iter_mut().enumerate() {
                changed |= resolve_value(item, &format!("{path}[{i}]"), env)?;
            }
            Ok(changed)
        }
        _ => Ok(false),
    }
}

/// `text` with every `${NAME}` (NAME: letters, digits, `_`, not starting with a digit)
/// replaced by the variable's value; anything else is kept as written.
fn substitute(
    text: &str,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name_len = after
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(after.len(), |(i, _)| i);
        if name_len > 0 && after[name_len..].starts_with('}') {
            let name = &after[..name_len];
            let Some(value) = env(name) else {
                bail!("`{path}` names the environment variable {name}, which is not set");
            };
            out.push_str(&value);
            rest = &after[name_len + 1..];
        } else {
            out.push_str("${");
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "X_TOKEN" => Some("tok\"en".into()),
            "DIR" => Some("/tmp".into()),
            _ => None,
        }
    }

    #[test]
    fn variables_are_replaced_and_other_text_kept() {
        let mut table: Table = toml::from_str(
            r#"
            [server]
            admin_token = "${X_TOKEN}"
            [[integration]]
            settings = { url = "https://${X_TOKEN}@h/${DIR}", regex = "a{2}$ ${1,3} $" }
            "#,
        )
        .unwrap();
        assert!(resolve_table(&mut table, "", &env).unwrap());
        assert_eq!(table["server"]["admin_token"].as_str(), Some("tok\"en"));
        let settings = &table["integration"][0]["settings"];
        assert_eq!(settings["url"].as_str(), Some("https://tok\"en@h//tmp"));
        assert_eq!(settings["regex"].as_str(), Some("a{2}$ ${1,3} $"));
    }

    #[test]
    fn an_unset_variable_is_an_error_naming_the_key() {
        let mut table: Table = toml::from_str("[server]\nadmin_token = \"${NOPE}\"").unwrap();
        let error = resolve_table(&mut table, "", &env).unwrap_err().to_string();
        assert!(
            error.contains("server.admin_token") && error.contains("NOPE"),
            "{error}"
        );
    }

    #[test]
    fn a_file_key_reads_the_secret_without_its_newline() {
        let dir = std::env::temp_dir().join(format!("sb-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), "s3cret\n").unwrap();
        let mut table: Table = toml::from_str(&format!(
            "[server]\nadmin_token_file = {:?}",
            dir.join("token").display().to_string()
        ))
        .unwrap();
        assert!(resolve_table(&mut table, "", &env).unwrap());
        assert_eq!(table["server"]["admin_token"].as_str(), Some("s3cret"));
        assert!(
            !table["server"]
                .as_table()
                .unwrap()
                .contains_key("admin_token_file")
        );

        let mut both: Table =
            toml::from_str("[server]\nadmin_token = \"a\"\nadmin_token_file = \"/nonexistent\"")
                .unwrap();
        assert!(resolve_table(&mut both, "", &env).is_err());
        let mut missing: Table =
            toml::from_str("[server]\nadmin_token_file = \"/nonexistent/x\"").unwrap();
        let error = format!("{:#}", resolve_table(&mut missing, "", &env).unwrap_err());
        assert!(error.contains("server.admin_token_file"), "{error}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_config_without_references_is_unchanged() {
        let mut table: Table = toml::from_str("[server]\nadmin_token = \"plain\"").unwrap();
        assert!(!resolve_table(&mut table, "", &env).unwrap());
    }
}
