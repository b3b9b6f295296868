//! Small HTTP details every adapter needs: headers, query strings and response bodies.

use crate::HttpResponse;

/// The value of header `name`, compared case-insensitively (the host lower-cases names, but a
/// platform's response headers reach `decode-send-response` as the platform sent them).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// The first value of query parameter `name`, percent-decoded (`+` counts as a space, as in
/// HTML forms). `query` is the raw query string without the leading `?`.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(key, _)| percent_decode(key) == name)
        .map(|(_, value)| percent_decode(value))
}

/// Decode `%XX` escapes and `+`. A `%` not followed by two hex digits stays as it is, and
/// bytes that do not form UTF-8 become U+FFFD, so a sloppy sender cannot make decoding fail.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

/// A response with no body, e.g. the `200` a platform expects for an accepted event POST.
pub fn empty_response(status: u16) -> HttpResponse {
    HttpResponse {
        status,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// A JSON response with `content-type: application/json`.
pub fn json_response(status: u16, body: &serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

/// A response body as text for an error message: invalid UTF-8 replaced, surrounding
/// whitespace trimmed, and cut to `max_chars` characters (with `…`) so a platform's HTML error
/// page cannot flood the host's log and audit trail.
pub fn body_excerpt(body: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `Retry-After` as an epoch time in milliseconds, counted from `now_ms`. Only the
/// delta-seconds form is read; the rare HTTP-date form yields `None`, leaving the host's backoff
/// to decide.
pub fn retry_after_ms(headers: &[(String, String)], now_ms: u64) -> Option<u64> {
    let seconds: u64 = header(headers, "retry-after")?.trim().parse().ok()?;
    Some(now_ms.saturating_add(seconds.saturating_mul(1000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn header_lookup_ignores_case() {
        let h = headers(&[("X-Twitter-Webhooks-Signature", "sha256=abc"), ("a", "1")]);
        assert_eq!(
            header(&h, "x-twitter-webhooks-signature"),
            Some("sha256=abc")
        );
        assert_eq!(header(&h, "A"), Some("1"));
        assert_eq!(header(&h, "missing"), None);
    }

    #[test]
    fn query_params_are_decoded() {
        let query = "crc_token=crc-7f3a9c21-0b4e-4d2a-9e55-1c2d3e4f5a6b&nonce=MTc5OTAwMDAwMDAwMA";
        assert_eq!(
            query_param(query, "crc_token").as_deref(),
            Some("crc-7f3a9c21-0b4e-4d2a-9e55-1c2d3e4f5a6b")
        );
        assert_eq!(
            query_param(query, "nonce").as_deref(),
            Some("MTc5OTAwMDAwMDAwMA")
        );
        assert_eq!(query_param(query, "crc"), None);
        assert_eq!(query_param("", "crc_token"), None);
        assert_eq!(
            query_param("hub.mode=subscribe&flag", "flag").as_deref(),
            Some("")
        );
        assert_eq!(
            query_param("t=a%2Bb%3D%3D+c", "t").as_deref(),
            Some("a+b== c")
        );
        assert_eq!(query_param("t%5Fx=%C3%A9", "t_x").as_deref(), Some("é"));
        assert_eq!(query_param("t=100%&u=%zz%4", "t").as_deref(), Some("100%"));
        assert_eq!(query_param("t=100%&u=%zz%4", "u").as_deref(), Some("%zz%4"));
        assert_eq!(query_param("t=1&t=2", "t").as_deref(), Some("1"));
    }

    #[test]
    fn responses() {
        let json = json_response(200, &serde_json::json!({"status": "accepted"}));
        assert_eq!(json.status, 200);
        assert_eq!(
            header(&json.headers, "content-type"),
            Some("application/json")
        );
        assert_eq!(json.body, br#"{"status":"accepted"}"#);
        assert_eq!(empty_response(204).body, b"");
    }

    #[test]
    fn body_excerpts_are_bounded() {
        assert_eq!(body_excerpt(b"  short \n", 10), "short");
        assert_eq!(body_excerpt("héllo wörld".as_bytes(), 5), "héllo…");
        assert_eq!(body_excerpt(b"\xff ok", 10), "\u{fffd} ok");
    }

    #[test]
    fn retry_after_in_seconds() {
        let h = headers(&[("Retry-After", " 30 ")]);
        assert_eq!(retry_after_ms(&h, 1_000), Some(31_000));
        let date = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(retry_after_ms(&date, 1_000), None);
        assert_eq!(retry_after_ms(&[], 1_000), None);
    }
}
