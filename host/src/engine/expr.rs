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
        let value = cel::to_value(value).map_err(|e| format!("variable `{name}`: {e}"))?;
        context.add_variable_from_value(name.as_str(), value);
    }
    let value = program.execute(&context).map_err(|e| e.to_string())?;
    value
        .json()
        .map_err(|e| format!("the result cannot be stored: {e:?}"))
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
