//! A flow file through the parser, the validator and the type checker (`flow validate`,
//! `PUT /admin/v1/flows/{name}`): every input is answered, a flow or located errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::engine::{Flow, Known};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = Flow::parse(source, &Known::default()) {
        assert!(!errors.is_empty());
    }
    let _ = Flow::parse_stored(source);
});
