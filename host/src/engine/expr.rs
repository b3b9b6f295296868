//! Expressions in flows are [CEL](https://cel.dev), evaluated by the maintained `cel` crate:
//! sandboxed (no I/O, no loops beyond its bounded macros) and familiar to flow authors.
//!
//! Variables are JSON values: the flow's own variables plus `message`, `customer`,
//! `integration`, `conversation` and, inside the error handler, `error`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

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

/// The stack one level of an expression's tree may take while it is evaluated or dropped: the
/// debug build's parser measured about 80 KB a level, and the evaluator takes less.
const STACK_PER_LEVEL: usize = 80 * 1024;

/// Runs `f` (which evaluates or drops a tree `depth` levels deep) on the thread's own stack
/// when enough of it is left, and on a fresh segment otherwise. Growing a segment maps and
/// unmaps [`STACK`] bytes (and flushes every core's TLB); a shallow condition, the usual case,
/// never needs it.
fn with_stack_for<R>(depth: usize, f: impl FnOnce() -> R) -> R {
    let red_zone = (256 * 1024 + depth.saturating_mul(STACK_PER_LEVEL)).min(STACK);
    stacker::maybe_grow(red_zone, STACK, f)
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

/// A parsed expression and the depth of its tree, which says how much stack evaluating (and
/// dropping) it takes.
struct Compiled {
    /// Always `Some` until dropped.
    program: Option<cel::Program>,
    depth: usize,
}

impl Drop for Compiled {
    fn drop(&mut self) {
        if let Some(program) = self.program.take() {
            with_stack_for(self.depth, || drop(program));
        }
    }
}

/// How many expressions are kept parsed. Flows hold a few dozen; past this (flows rewritten many
/// times over a long life) an expression is parsed each time it runs.
const PARSED_MAX: usize = 10_000;

/// Expressions parsed once, by their source: parsing took more of a flow turn than evaluating.
static PARSED: LazyLock<RwLock<HashMap<String, Arc<Compiled>>>> = LazyLock::new(Default::default);

fn parsed(source: &str) -> Result<Arc<Compiled>, String> {
    if let Some(compiled) = PARSED.read().unwrap_or_else(|e| e.into_inner()).get(source) {
        return Ok(compiled.clone());
    }
    let compiled = with_stack(|| {
        compile(source).map(|program| Compiled {
            depth: depth(program.expression()),
            program: Some(program),
        })
    })?;
    let compiled = Arc::new(compiled);
    let mut parsed = PARSED.write().unwrap_or_else(|e| e.into_inner());
    if parsed.len() < PARSED_MAX {
        parsed.insert(source.to_owned(), compiled.clone());
    }
    Ok(compiled)
}

/// The depth of an expression's tree (call it inside [`with_stack`]: it recurses once a level).
fn depth(e: &cel::IdedExpr) -> usize {
    use cel::common::ast::{EntryExpr, Expr, MapExpr, StructExpr};
    fn deepest<'a>(items: impl IntoIterator<Item = &'a cel::IdedExpr>) -> usize {
        items.into_iter().map(depth).max().unwrap_or(0)
    }
    1 + match &e.expr {
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => 0,
        Expr::Call(call) => deepest(call.target.as_deref().into_iter().chain(&call.args)),
        Expr::Comprehension(c) => deepest([
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ]),
        Expr::List(list) => deepest(&list.elements),
        Expr::Select(select) => depth(&select.operand),
        Expr::Map(MapExpr { entries }) | Expr::Struct(StructExpr { entries, .. }) => deepest(
            entries
                .iter()
                .flat_map(|entry| match &entry.expr {
                    EntryExpr::StructField(f) => [None, Some(&f.value)],
                    EntryExpr::MapEntry(m) => [Some(&m.key), Some(&m.value)],
                })
                .flatten(),
        ),
    }
}

/// Evaluates `source` with `vars` as its top-level variables.
pub fn eval(source: &str, vars: &Map<String, Value>) -> Result<Value, String> {
    let compiled = parsed(source)?;
    with_stack_for(compiled.depth, || eval_here(&compiled, vars))
}

fn eval_here(compiled: &Compiled, vars: &Map<String, Value>) -> Result<Value, String> {
    let program = compiled
        .program
        .as_ref()
        .expect("a parsed expression holds its program until dropped");
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

    /// The stack an evaluation asks for follows the tree's depth, which the walk must count
    /// through every kind of node (a miss would evaluate a deep tree on too little stack).
    #[test]
    fn an_expression_is_parsed_once_with_the_depth_of_its_tree() {
        for (source, expected) in [
            ("1", 1),
            ("(1 + 2) * 3 == 9", 4),
            ("a.b.c", 3),
            ("[[1]] == [[1]]", 4),
            ("{'k': {'k': 1}}.k.k == 1", 6),
            ("[1, 2].all(x, x > 0)", 4),
            (&format!("{} == 1", vec!["1"; 50].join("+")), 51),
        ] {
            let first = parsed(source).unwrap();
            assert_eq!(first.depth, expected, "{source}");
            assert!(
                Arc::ptr_eq(&first, &parsed(source).unwrap()),
                "{source} is parsed again"
            );
        }
        let vars = serde_json::from_value(json!({ "a": { "b": { "c": 7 } } })).unwrap();
        assert_eq!(eval("a.b.c", &vars).unwrap(), json!(7));
    }
}
