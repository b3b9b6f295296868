//! An integration's `send_limits` entry (`COUNT/PERIOD`): parsed or refused, and a parsed one
//! prints back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::config::SendLimit;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(limit) = text.parse::<SendLimit>() {
        let again: SendLimit = limit.to_string().parse().expect("prints to what it parses");
        assert_eq!(again, limit);
    }
});
