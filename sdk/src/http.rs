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

/// `Retry-After` as an epoch time in milliseconds: delta-seconds counted from `now_ms`, or an
/// HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 9110's IMF-fixdate). `None` when absent or
/// unreadable, leaving the host to read the headers itself, then to its backoff.
pub fn retry_after_ms(headers: &[(String, String)], now_ms: u64) -> Option<u64> {
    let value = header(headers, "retry-after")?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(now_ms.saturating_add(seconds.saturating_mul(1000)));
    }
    http_date_ms(value)
}

/// `x-rate-limit-reset` (X, and partners that copy it): the Unix epoch second the window
/// resets, in milliseconds.
pub fn rate_limit_reset_ms(headers: &[(String, String)]) -> Option<u64> {
    let seconds: u64 = header(headers, "x-rate-limit-reset")?.trim().parse().ok()?;
    seconds.checked_mul(1000)
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as epoch milliseconds.
fn http_date_ms(value: &str) -> Option<u64> {
    let (_weekday, rest) = value.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts[..] else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + h * 3_600 + m * 60 + s;
    u64::try_from(seconds).ok()?.checked_mul(1000)
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
        assert_eq!(retry_after_ms(&date, 1_000), Some(1_445_412_480_000));
        let leap = headers(&[("retry-after", "Tue, 29 Feb 2028 23:59:59 GMT")]);
        assert_eq!(retry_after_ms(&leap, 1_000), Some(1_835_481_599_000));
        for bad in [
            "Wed, 21 Oct 2015 07:28:00 PST",
            "21 Oct 2015",
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "soon",
        ] {
            assert_eq!(
                retry_after_ms(&headers(&[("retry-after", bad)]), 1_000),
                None,
                "{bad}"
            );
        }
        let reset = headers(&[("X-Rate-Limit-Reset", "1790000900")]);
        assert_eq!(rate_limit_reset_ms(&reset), Some(1_790_000_900_000));
        assert_eq!(rate_limit_reset_ms(&[]), None);
        assert_eq!(retry_after_ms(&[], 1_000), None);
    }
}
