//! JSON bodies in and out, with errors that tell the platform (or its developer) what was wrong.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::AdapterError;

/// Decode a request body into `T`.
///
/// Fails with [`AdapterError::Malformed`] naming the problem: an empty body, text that is not
/// JSON, or JSON of the wrong shape (serde's message, e.g. ``missing field `id` at line 1 column 9``).
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AdapterError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AdapterError::Malformed(
            "the body is empty; expected JSON".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_data() {
            "the JSON body has an unexpected shape"
        } else {
            "the body is not valid JSON"
        };
        AdapterError::Malformed(format!("{what}: {e}"))
    })
}

/// Encode an outbound request body.
///
/// Derived `Serialize` types and `serde_json::Value` always encode; the error exists for
/// hand-written `Serialize` impls that can refuse, and says so as [`AdapterError::Malformed`].
pub fn to_body<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, AdapterError> {
    serde_json::to_vec(value)
        .map_err(|e| AdapterError::Malformed(format!("cannot encode the JSON body: {e}")))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Ping {
        id: String,
    }

    fn malformed(result: Result<Ping, AdapterError>) -> String {
        match result {
            Err(AdapterError::Malformed(reason)) => reason,
            other => panic!("expected a malformed error, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_expected_shape() {
        assert_eq!(
            parse::<Ping>(br#"{"id":"1","extra":true}"#),
            Ok(Ping { id: "1".into() })
        );
    }

    #[test]
    fn says_what_was_wrong() {
        assert_eq!(malformed(parse(b" \n")), "the body is empty; expected JSON");
        assert!(malformed(parse(b"{\"id\":")).starts_with("the body is not valid JSON: "));
        let reason = malformed(parse(br#"{"id":1}"#));
        assert!(
            reason.starts_with("the JSON body has an unexpected shape: invalid type"),
            "{reason}"
        );
        assert!(malformed(parse(b"{}")).contains("missing field `id`"));
    }

    #[test]
    fn encodes_compactly() {
        let body = to_body(&serde_json::json!({"text": "hi"})).unwrap();
        assert_eq!(body, br#"{"text":"hi"}"#);
    }
}
