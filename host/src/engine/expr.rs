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

/// The longest expression a flow may hold, in bytes: far beyond a readable condition, and short
/// enough that its tree stays within [`STACK`].
pub const MAX_LEN: usize = 4_096;

/// The stack the CEL parser, the type check and the evaluator are given: they recurse once per
/// level of the expression's tree (about 80 KB a level in a debug build), so 25 nested brackets
/// or a sum of 100 terms overflowed a server thread's 2 MB and aborted the host.
const STACK: usize = 256 * 1024 * 1024;

/// Runs `f` (which parses, walks or evaluates an expression, and drops its tree) with at least
/// [`STACK`] bytes of stack, on a fresh segment when the thread has less left.
pub fn with_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(STACK, STACK, f)
}

/// Parses an expression, reporting the parser's message on failure. The program's tree is as
/// deep as the expression: walk and drop it inside [`with_stack`].
pub fn compile(source: &str) -> Result<cel::Program, String> {
    if source.len() > MAX_LEN {
        return Err(format!(
            "the expression is {} bytes long; at most {MAX_LEN}",
            source.len()
        ));
    }
    with_stack(|| ENV.compile(source)).map_err(|e| e.to_string().replace('\n', "; "))
}

/// Whether an expression parses (its message when not).
pub fn check(source: &str) -> Result<(), String> {
    with_stack(|| compile(source).map(drop))
}

/// Evaluates `source` with `vars` as its top-level variables.
pub fn eval(source: &str, vars: &Map<String, Value>) -> Result<Value, String> {
    with_stack(|| eval_here(source, vars))
}

fn eval_here(source: &str, vars: &Map<String, Value>) -> Result<Value, String> {
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

    /// 25 nested brackets or a sum of 100 terms overflowed a 2 MB server thread (the host
    /// aborted); each is now parsed, type-checked and evaluated on a grown stack.
    #[test]
    fn deep_expressions_do_not_overflow_a_server_thread() {
        let shapes = [
            format!("{}1{} == 1", "(".repeat(60), ")".repeat(60)),
            format!("size({}1{}) == 1", "[".repeat(60), "]".repeat(60)),
            format!("{} == 1", vec!["1"; 1_500].join("+")),
            format!("{}1{}", "{".repeat(2_000), "}".repeat(2_000)),
        ];
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                for source in shapes {
                    let flow = format!(
                        "start: a\nsteps:\n  a:\n    type: decision\n    condition: {}\n    then: b\n    else: b\n  b:\n    type: disconnect\n",
                        serde_json::to_string(&source).unwrap()
                    );
                    let _ = crate::engine::Flow::parse(&flow, &Default::default());
                    let _ = eval(&source, &Map::new());
                }
            })
            .unwrap()
            .join()
            .expect("no overflow, no panic");
        assert_eq!(
            eval(
                &format!("{} == 1501", vec!["1"; 1_501].join("+")),
                &Map::new()
            ),
            Ok(json!(true))
        );
        let long = format!("'{}' == ''", "a".repeat(MAX_LEN));
        assert!(compile(&long).unwrap_err().contains("at most 4096"));
    }

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
