//! The commented configuration `switchboard init` writes: what a new admin edits first.

/// The starter configuration's text.
pub const STARTER: &str = include_str!("starter.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_configuration_is_valid() {
        let config = crate::config::Config::parse(STARTER).unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        let queues: Vec<&str> = config.queues.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(queues, ["support", "billing"]);
    }
}
