//! Agents' and supervisors' tokens, kept only as salted Argon2id hashes (PHC strings such as
//! `$argon2id$v=19$m=8192,t=2,p=1$SALT$HASH`).
//!
//! A token in the configuration is given either as `token_hash` (a PHC string, made with
//! `switchboard hash-token`) or as a plaintext `token`, which is hashed while the file is read
//! and then dropped, so the running host holds no agent's token in plaintext.
//!
//! The parameters ([`PARAMS`]: 8 MiB of memory, 2 passes, 1 lane) are light on purpose: tokens
//! are meant to be long random secrets (`openssl rand -hex 24`), which no hash makes guessable,
//! and the host verifies a token against each agent's hash when it first sees that token (the
//! directory then remembers it). A hash made elsewhere with heavier parameters verifies too: the
//! parameters travel in the PHC string.

use anyhow::{Context, bail};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory (KiB), passes and lanes of the hashes this host makes.
pub const PARAMS: (u32, u32, u32) = (8 * 1024, 2, 1);

/// The fewest characters a plaintext token may have.
pub const MIN_TOKEN_CHARS: usize = 8;

fn hasher() -> Argon2<'static> {
    let (m, t, p) = PARAMS;
    let params = Params::new(m, t, p, None).expect("the fixed Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `token` with a fresh random salt: the PHC string to store or put in `token_hash`.
pub fn hash_token(token: &str) -> anyhow::Result<String> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        bail!("a token must be at least {MIN_TOKEN_CHARS} characters");
    }
    let salt = SaltString::generate(&mut rand_core::OsRng);
    let hash = hasher()
        .hash_password(token.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the token: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `token` is the one `phc` was made from. A malformed `phc` matches nothing (the
/// configuration and the admin API refuse those with [`check_token_hash`]).
pub fn verify_token(token: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(token.as_bytes(), &parsed)
        .is_ok()
}

/// Checks that `phc` is an Argon2 PHC string this host can verify against.
pub fn check_token_hash(phc: &str) -> anyhow::Result<()> {
    let parsed = PasswordHash::new(phc)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("token_hash is not a PHC string (make one with `switchboard hash-token`)")?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        bail!(
            "token_hash uses `{}`; only Argon2 hashes (`$argon2id$...`) are accepted",
            parsed.algorithm
        );
    }
    if parsed.hash.is_none() {
        bail!("token_hash has no hash part");
    }
    Params::try_from(&parsed)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("token_hash has parameters Argon2 refuses")?;
    Ok(())
}

/// The one hash a `token` / `token_hash` pair stands for: the plaintext is hashed (and the
/// caller drops it), a given hash is checked. `who` names the entry in errors.
pub fn resolve(
    token: Option<String>,
    token_hash: Option<String>,
    who: &str,
) -> anyhow::Result<String> {
    match (token, token_hash) {
        (Some(_), Some(_)) => bail!("{who}: give `token` or `token_hash`, not both"),
        (None, None) => bail!("{who}: needs a `token` or a `token_hash`"),
        (Some(token), None) => hash_token(&token).with_context(|| who.to_string()),
        (None, Some(hash)) => {
            check_token_hash(&hash).with_context(|| who.to_string())?;
            Ok(hash)
        }
    }
}

/// One of `token` (at least 8 characters) or `token_hash` (a PHC string), not both.
pub fn check_token_fields(
    who: &str,
    token: Option<&str>,
    token_hash: Option<&str>,
) -> anyhow::Result<()> {
    match (token, token_hash) {
        (Some(_), Some(_)) => bail!("{who}: give `token` or `token_hash`, not both"),
        (None, None) => bail!("{who}: needs a `token` or a `token_hash`"),
        (Some(token), None) if token.chars().count() < MIN_TOKEN_CHARS => {
            bail!("{who}: token must be at least {MIN_TOKEN_CHARS} characters")
        }
        (Some(_), None) => Ok(()),
        (None, Some(hash)) => check_token_hash(hash).with_context(|| who.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_token_only() {
        let hash = hash_token("fixture-token-1").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8192,t=2,p=1$"), "{hash}");
        assert!(verify_token("fixture-token-1", &hash));
        assert!(!verify_token("fixture-token-2", &hash));
        assert!(!verify_token("fixture-token-1", "not a hash"));
        // Salted: the same token hashes differently each time.
        assert_ne!(hash, hash_token("fixture-token-1").unwrap());
    }

    #[test]
    fn bad_hashes_and_short_tokens_are_refused() {
        let err = hash_token("short").unwrap_err().to_string();
        assert!(err.contains("at least 8"), "{err}");
        let err = format!("{:#}", check_token_hash("plaintext-token").unwrap_err());
        assert!(err.contains("switchboard hash-token"), "{err}");
        let err = format!(
            "{:#}",
            resolve(Some("a-long-token".into()), Some("x".into()), "agent `a`").unwrap_err()
        );
        assert!(
            err.contains("agent `a`: give `token` or `token_hash`"),
            "{err}"
        );
        let err = format!("{:#}", resolve(None, None, "agent `a`").unwrap_err());
        assert!(err.contains("needs a `token`"), "{err}");
    }
}
