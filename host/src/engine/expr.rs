//! Expressions in flows are [CEL](https://cel.dev), evaluated by the maintained `cel` crate:
//! sandboxed (no I/O, no loops beyond its bounded macros) and familiar to flow authors.
//!
//! Variables are JSON values: the flow's own variables plus `message`, `customer`,
//! `integration`, `conversation` and, inside the error handler, `error`.

use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value};

/// The standard library plus the `strings`, `lists` and `math` extensions
/// (`lowerAscii()`, `split()`, `math.greatest()`, ...).
static ENV: LazyLock<Arc<cel::Env>> = LazyLock::new(|| {
    let mut env = cel::Env::stdlib();
    for extension in [
        cel::extensions::strings,
        cel::extensions::lists,
        cel::extensions::math,
    ] {
        env.add_extension(extension)
            .expect("the CEL extensions do not conflict");
    }
    Arc::new(env)
});

/// Parses an expression, reporting the parser's message on failure.
pub fn compile(source: &str) -> Result<cel::Program, String> {
    ENV.compile(source)
        .map_err(|e| e.to_string().replace('\n', "; "))
}

/// Evaluates `source` with `vars` as its top-level variables.
pub fn eval(source: &str, vars: &Map<String, Value>) -> Result<Value, String> {
    let program = compile(source)?;
    let mut context = cel::Context::with_env(ENV.clone());
    for (name, value) in vars {
        context.add_variable_from_value(name.as_str(), to_cel(value));
    }
    let value = program.execute(&context).map_err(|e| e.to_string())?;
    value
        .json()
        .map_err(|e| format!("the result cannot be stored: {e:?}"))
}

/// JSON to CEL. Whole numbers become `int` (as CEL literals are), so `qty + 1` works; only
/// numbers beyond `i64` become `uint`.
fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => cel::Value::Int(i),
            (None, Some(u)) => cel::Value::UInt(u),
            _ => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let map: std::collections::HashMap<String, cel::Value> =
                map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            cel::Value::from(map)
        }
    }
}

/// Evaluates a condition, which must produce a boolean.
pub fn eval_bool(source: &str, vars: &Map<String, Value>) -> Result<bool, String> {
    match eval(source, vars)? {
        Value::Bool(b) => Ok(b),
        other => Err(format!(
            "the condition `{source}` gave {other}, not true or false"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn conditions_see_flow_variables_and_the_message() {
        let v = vars(
            json!({"topic": "Billing", "message": {"text": "hi"}, "customer": {"followers": 12000}}),
        );
        assert!(eval_bool(r#"topic == "Billing""#, &v).unwrap());
        assert!(eval_bool(r#"message.text.contains("h")"#, &v).unwrap());
        assert!(eval_bool("customer.followers > 10000", &v).unwrap());
        assert_eq!(eval(r#"topic + "!""#, &v).unwrap(), json!("Billing!"));
        assert_eq!(eval("customer.followers + 1", &v).unwrap(), json!(12001));
        assert!(eval_bool("customer.followers / 1000 == 12", &v).unwrap());
    }

    #[test]
    fn errors_are_reported_not_panicked() {
        assert!(compile("topic ===").is_err());
        let err = eval_bool("nope == 1", &Map::new()).unwrap_err();
        assert!(err.contains("nope"), "{err}");
        let err = eval_bool("1 + 1", &Map::new()).unwrap_err();
        assert!(err.contains("not true or false"), "{err}");
    }
}
