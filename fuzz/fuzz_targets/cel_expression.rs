//! A CEL expression parsed, type-checked inside a flow, and evaluated with a few variables.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use switchboard::engine::{Flow, Known, expr};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let _ = expr::compile(source).map(drop);
    let vars = json!({"topic": "orders", "message": {"text": "hi", "kind": "direct"}, "n": 3});
    let _ = expr::eval(source, vars.as_object().unwrap());
    let flow = format!(
        "start: a\nsteps:\n  a:\n    type: decision\n    condition: {}\n    then: b\n    else: b\n  b:\n    type: disconnect\n",
        serde_json::to_string(source).unwrap()
    );
    let _ = Flow::parse(&flow, &Known::default());
});
