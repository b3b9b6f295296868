//! The type of a CEL expression given the variables a step can see, and what in it would fail
//! or never be true at run time: unknown variables and fields, variables some path leaves unset,
//! text compared with numbers, `<` on text and numbers, null used where a value is needed
//! (`customer.followers > 10000` without `customer.followers != null &&`), conditions that are
//! not true/false. Unknown functions and macros are `Dyn`: the checker stays silent where it
//! cannot be sure.

use std::collections::{BTreeMap, BTreeSet};

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr, LiteralValue};

use super::super::shape::suggest;
use super::ty::Ty;
use crate::engine::expr;

/// A variable at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub ty: Ty,
    /// Every path to the step sets it.
    pub always: bool,
    /// A path that reaches the step without it: (step, path label); `("", "")` for `start`.
    pub missing_via: Option<(String, String)>,
}

/// What an expression at one step can see.
pub struct Scope<'a> {
    pub vars: &'a BTreeMap<String, Var>,
    /// Every variable the flow sets, with the steps that set it.
    pub assigned: &'a BTreeMap<String, Vec<String>>,
}

/// Namespaces of extension functions (`math.greatest`), never variables.
const NAMESPACES: &[&str] = &["math", "strings", "lists", "sets", "base64", "optional"];

/// The expression's type and its problems (none when it cannot even be parsed: validation
/// reports that). With `types_only`, variables that are unknown or unset here are not
/// problems (the flow has other errors, so the paths are not all known). The walk recurses per
/// level of the expression's tree: on a grown stack.
pub fn check(source: &str, scope: &Scope<'_>, types_only: bool) -> (Ty, Vec<String>) {
    expr::with_stack(|| {
        let Ok(program) = expr::compile(source) else {
            return (Ty::Dyn, Vec::new());
        };
        let mut walker = Walker {
            scope,
            types_only,
            problems: Vec::new(),
            non_null: Vec::new(),
            locals: Vec::new(),
        };
        let ty = walker.ty(program.expression());
        let mut seen = BTreeSet::new();
        walker.problems.retain(|p| seen.insert(p.clone()));
        (ty, walker.problems)
    })
}

struct Walker<'s, 'a> {
    scope: &'s Scope<'a>,
    types_only: bool,
    problems: Vec<String>,
    /// Paths known not to be null here (`x != null && ...`).
    non_null: Vec<String>,
    /// Comprehension variables in scope.
    locals: Vec<(String, Ty)>,
}

/// `a.b.c` for an identifier or field selections on one.
fn path_of(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Expr::Ident(name) => Some(name.clone()),
        Expr::Select(s) if !s.test => Some(format!("{}.{}", path_of(&s.operand)?, s.field)),
        _ => None,
    }
}

/// The expression written back, for messages.
pub fn unparse(e: &IdedExpr) -> String {
    match &e.expr {
        Expr::Ident(name) => name.clone(),
        Expr::Literal(l) => match l {
            LiteralValue::Boolean(b) => format!("{}", **b),
            LiteralValue::Int(i) => format!("{}", **i),
            LiteralValue::UInt(u) => format!("{}u", **u),
            LiteralValue::Double(d) => format!("{}", **d),
            LiteralValue::String(s) => format!("{:?}", s.inner()),
            LiteralValue::Null => "null".into(),
            LiteralValue::Bytes(_) => "b\"...\"".into(),
        },
        Expr::Select(s) if s.test => format!("has({}.{})", unparse(&s.operand), s.field),
        Expr::Select(s) => format!("{}.{}", unparse(&s.operand), s.field),
        Expr::Call(call) => {
            let args: Vec<String> = call.args.iter().map(unparse).collect();
            let op = call
                .func_name
                .strip_prefix('_')
                .and_then(|f| f.strip_suffix('_'))
                .filter(|op| !op.contains('_'));
            match (call.func_name.as_str(), op, args.as_slice(), &call.target) {
                ("_?_:_", _, [c, a, b], None) => format!("{c} ? {a} : {b}"),
                ("_[_]", _, [a, b], None) => format!("{a}[{b}]"),
                ("!_", _, [a], None) => format!("!{a}"),
                ("-_", _, [a], None) => format!("-{a}"),
                ("@in", _, [a, b], None) => format!("{a} in {b}"),
                (_, Some(op), [a, b], None) => format!("{a} {op} {b}"),
                (name, _, args, Some(target)) => {
                    format!("{}.{name}({})", unparse(target), args.join(", "))
                }
                (name, _, args, None) => format!("{name}({})", args.join(", ")),
            }
        }
        Expr::List(list) => {
            let items: Vec<String> = list.elements.iter().map(unparse).collect();
            format!("[{}]", items.join(", "))
        }
        _ => "…".into(),
    }
}

/// Paths known not null when `e` is `positive` (true) or not (false).
fn facts(e: &IdedExpr, positive: bool) -> Vec<String> {
    let Expr::Call(call) = &e.expr else {
        return Vec::new();
    };
    let is_null = |a: &IdedExpr| matches!(a.expr, Expr::Literal(LiteralValue::Null));
    match (call.func_name.as_str(), call.args.as_slice()) {
        ("_!=_", [a, b]) if positive => null_checked(a, b),
        ("_==_", [a, b]) if !positive => null_checked(a, b),
        ("_==_", [a, b]) if positive && matches!(b.expr, Expr::Literal(_)) && !is_null(b) => {
            path_of(a).into_iter().collect()
        }
        ("_&&_", [a, b]) if positive => [facts(a, true), facts(b, true)].concat(),
        ("_||_", [a, b]) if !positive => [facts(a, false), facts(b, false)].concat(),
        ("!_", [a]) => facts(a, !positive),
        _ => Vec::new(),
    }
}

/// The path compared with `null` in `a OP b`, if one side is `null`.
fn null_checked(a: &IdedExpr, b: &IdedExpr) -> Vec<String> {
    let is_null = |e: &IdedExpr| matches!(e.expr, Expr::Literal(LiteralValue::Null));
    match (is_null(a), is_null(b)) {
        (false, true) => path_of(a).into_iter().collect(),
        (true, false) => path_of(b).into_iter().collect(),
        _ => Vec::new(),
    }
}

impl Walker<'_, '_> {
    fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    /// Types `e` with `paths` known not null.
    fn ty_with(&mut self, e: &IdedExpr, paths: Vec<String>) -> Ty {
        let depth = self.non_null.len();
        self.non_null.extend(paths);
        let ty = self.ty(e);
        self.non_null.truncate(depth);
        ty
    }

    fn narrowed(&self, e: &IdedExpr, ty: Ty) -> Ty {
        match path_of(e) {
            Some(path) if self.non_null.contains(&path) => ty.non_null(),
            _ => ty,
        }
    }

    fn variable(&mut self, name: &str) -> Ty {
        if let Some((_, ty)) = self.locals.iter().rev().find(|(n, _)| n == name) {
            return ty.clone();
        }
        if let Some(ty) = reserved(name) {
            return ty;
        }
        if let Some(var) = self.scope.vars.get(name) {
            if !var.always && !self.types_only {
                let how = match &var.missing_via {
                    Some((step, path)) if !step.is_empty() => format!(
                        "the path from step `{step}` (`{path}`) reaches this step without it"
                    ),
                    _ => "a conversation can reach this step from `start` without it".into(),
                };
                self.problem(format!(
                    "`{name}` may not be set here: {how}; give it a value on that path (e.g. a `set-data` step)"
                ));
            }
            return var.ty.clone();
        }
        if self.types_only && (name == "error" || self.scope.assigned.contains_key(name)) {
            return Ty::Dyn;
        }
        if name == "error" {
            self.problem(
                "`error` exists only in the turn a step failed: in the `on_error` handler and the steps it leads to before the turn ends"
                    .into(),
            );
            return Ty::Dyn;
        }
        if let Some(setters) = self.scope.assigned.get(name) {
            self.problem(format!(
                "`{name}` is never set on a path to this step (only step{} {} set{} it)",
                if setters.len() > 1 { "s" } else { "" },
                setters
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if setters.len() > 1 { "" } else { "s" }
            ));
            return Ty::Dyn;
        }
        let known = self
            .scope
            .vars
            .keys()
            .chain(self.scope.assigned.keys())
            .map(String::as_str)
            .chain(RESERVED_NAMES.iter().copied());
        let hint = suggest(name, known)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        self.problem(format!("unknown variable `{name}`{hint}"));
        Ty::Dyn
    }

    fn ty(&mut self, e: &IdedExpr) -> Ty {
        match &e.expr {
            Expr::Literal(l) => match l {
                LiteralValue::Boolean(_) => Ty::Bool,
                LiteralValue::Int(_) | LiteralValue::UInt(_) => Ty::Int,
                LiteralValue::Double(_) => Ty::Double,
                LiteralValue::String(_) => Ty::Str,
                LiteralValue::Null => Ty::Null,
                LiteralValue::Bytes(_) => Ty::Dyn,
            },
            Expr::Ident(name) => {
                let ty = self.variable(name);
                self.narrowed(e, ty)
            }
            Expr::Select(s) => {
                let operand = self.ty(&s.operand);
                if s.test {
                    return Ty::Bool;
                }
                let ty = self.field(&s.operand, &operand, &s.field);
                self.narrowed(e, ty)
            }
            Expr::Call(call) => self.call(e, call),
            Expr::List(list) => {
                let mut elem: Option<Ty> = None;
                for item in &list.elements {
                    let t = self.ty(item);
                    elem = Some(elem.map_or(t.clone(), |e| e.join(&t)));
                }
                Ty::List(Box::new(elem.unwrap_or(Ty::Dyn)))
            }
            Expr::Map(map) => {
                let mut value: Option<Ty> = None;
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        self.ty(&entry.key);
                        let t = self.ty(&entry.value);
                        value = Some(value.map_or(t.clone(), |v| v.join(&t)));
                    }
                }
                Ty::Map(Box::new(value.unwrap_or(Ty::Dyn)))
            }
            Expr::Comprehension(c) => {
                let range = self.ty(&c.iter_range);
                let elem = match range.non_null() {
                    Ty::List(e) => *e,
                    Ty::Map(_) | Ty::Obj(_) => Ty::Str,
                    _ => Ty::Dyn,
                };
                let init = self.ty(&c.accu_init);
                let depth = self.locals.len();
                self.locals.push((c.iter_var.clone(), elem));
                if let Some(second) = &c.iter_var2 {
                    self.locals.push((second.clone(), Ty::Dyn));
                }
                self.locals.push((c.accu_var.clone(), Ty::Dyn));
                self.ty(&c.loop_cond);
                self.ty(&c.loop_step);
                self.ty(&c.result);
                self.locals.truncate(depth);
                match init {
                    Ty::Bool => Ty::Bool,
                    Ty::List(_) => Ty::List(Box::new(Ty::Dyn)),
                    _ => Ty::Dyn,
                }
            }
            Expr::Struct(_) | Expr::Unspecified => Ty::Dyn,
        }
    }

    /// `operand.field`.
    fn field(&mut self, operand_expr: &IdedExpr, operand: &Ty, field: &str) -> Ty {
        let written = unparse(operand_expr);
        match operand {
            Ty::Dyn => Ty::Dyn,
            Ty::Map(value) => (**value).clone(),
            Ty::Obj(fields) => match fields.get(field) {
                Some(t) => t.clone(),
                None => {
                    let hint = suggest(field, fields.keys().map(String::as_str))
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    self.problem(format!(
                        "`{written}` has no field `{field}`{hint} (it has {})",
                        fields.keys().cloned().collect::<Vec<_>>().join(", ")
                    ));
                    Ty::Dyn
                }
            },
            Ty::Opt(inner) => {
                self.problem(format!(
                    "`{written}` may be null, and null has no field `{field}`: test `{written} != null &&` first"
                ));
                self.field(operand_expr, inner, field)
            }
            other => {
                self.problem(format!(
                    "`{written}` is {other}, which has no field `{field}`"
                ));
                Ty::Dyn
            }
        }
    }

    /// A value that must not be null where it is used (`what` says how).
    fn not_null(&mut self, e: &IdedExpr, ty: &Ty, what: &str) {
        if matches!(ty, Ty::Opt(_) | Ty::Null) {
            let written = unparse(e);
            self.problem(format!(
                "`{written}` may be null, which {what} fails on: test `{written} != null &&` first"
            ));
        }
    }

    fn call(&mut self, e: &IdedExpr, call: &cel::common::ast::CallExpr) -> Ty {
        let name = call.func_name.as_str();
        let args = call.args.as_slice();
        let written = unparse(e);
        match (name, args, &call.target) {
            ("_&&_" | "_||_", [a, b], None) => {
                let ta = self.ty(a);
                let tb = self.ty_with(b, facts(a, name == "_&&_"));
                for (x, t) in [(a, ta), (b, tb)] {
                    self.not_null(x, &t, if name == "_&&_" { "`&&`" } else { "`||`" });
                    if !t.non_null().is_boolish() {
                        self.problem(format!(
                            "`{}` is {t}, not true/false, so `{written}` fails",
                            unparse(x)
                        ));
                    }
                }
                Ty::Bool
            }
            ("!_", [a], None) => {
                let t = self.ty(a);
                if !t.non_null().is_boolish() {
                    self.problem(format!(
                        "`{}` is {t}, not true/false, so `!` fails",
                        unparse(a)
                    ));
                }
                Ty::Bool
            }
            ("_==_" | "_!=_", [a, b], None) => {
                let (ta, tb) = (self.ty(a), self.ty(b));
                if !ta.comparable(&tb) {
                    self.problem(format!(
                        "`{written}` compares {ta} (`{}`) with {tb} (`{}`), so it is always {}",
                        unparse(a),
                        unparse(b),
                        if name == "_==_" { "false" } else { "true" }
                    ));
                }
                Ty::Bool
            }
            ("_<_" | "_<=_" | "_>_" | "_>=_", [a, b], None) => {
                let (ta, tb) = (self.ty(a), self.ty(b));
                self.not_null(a, &ta, "an order comparison");
                self.not_null(b, &tb, "an order comparison");
                let (na, nb) = (ta.non_null(), tb.non_null());
                let fine = matches!(na, Ty::Dyn)
                    || matches!(nb, Ty::Dyn)
                    || (na.is_numeric() && nb.is_numeric())
                    || (na == Ty::Str && nb == Ty::Str);
                if !fine {
                    self.problem(format!(
                        "`{written}` orders {na} (`{}`) against {nb} (`{}`), which fails",
                        unparse(a),
                        unparse(b)
                    ));
                }
                Ty::Bool
            }
            ("_+_" | "_-_" | "_*_" | "_/_" | "_%_", [a, b], None) => {
                let (ta, tb) = (self.ty(a), self.ty(b));
                self.not_null(a, &ta, "arithmetic");
                self.not_null(b, &tb, "arithmetic");
                self.arithmetic(name, &written, (a, ta.non_null()), (b, tb.non_null()))
            }
            ("-_", [a], None) => {
                let t = self.ty(a);
                self.not_null(a, &t, "`-`");
                t.non_null()
            }
            ("_?_:_", [c, a, b], None) => {
                let tc = self.ty(c);
                if !tc.non_null().is_boolish() {
                    self.problem(format!(
                        "the condition `{}` of `? :` is {tc}, not true/false",
                        unparse(c)
                    ));
                }
                let ta = self.ty_with(a, facts(c, true));
                let tb = self.ty_with(b, facts(c, false));
                ta.join(&tb)
            }
            ("_[_]", [a, b], None) => {
                let (ta, tb) = (self.ty(a), self.ty(b));
                self.not_null(a, &ta, "`[]`");
                match ta.non_null() {
                    Ty::List(elem) => {
                        if !matches!(tb.non_null(), Ty::Int | Ty::Num | Ty::Dyn) {
                            self.problem(format!("`{written}` indexes a list with {tb}"));
                        }
                        *elem
                    }
                    Ty::Map(value) => *value,
                    Ty::Obj(fields) => match &b.expr {
                        Expr::Literal(LiteralValue::String(key)) => {
                            fields.get(key.inner()).cloned().unwrap_or(Ty::Dyn)
                        }
                        _ => Ty::Dyn,
                    },
                    Ty::Dyn => Ty::Dyn,
                    other => {
                        self.problem(format!(
                            "`{}` is {other}, which cannot be indexed",
                            unparse(a)
                        ));
                        Ty::Dyn
                    }
                }
            }
            ("@in", [a, b], None) => {
                self.ty(a);
                let tb = self.ty(b);
                self.not_null(b, &tb, "`in`");
                if !matches!(
                    tb.non_null(),
                    Ty::List(_) | Ty::Map(_) | Ty::Obj(_) | Ty::Dyn
                ) {
                    self.problem(format!("`{written}` looks in {tb}, not in a list or map"));
                }
                Ty::Bool
            }
            (_, _, Some(target)) => self.method(name, target, args, &written),
            (_, _, None) => {
                for arg in args {
                    self.ty(arg);
                }
                match name {
                    "size" => Ty::Int,
                    "int" => Ty::Int,
                    "uint" => Ty::Int,
                    "double" => Ty::Double,
                    "string" => Ty::Str,
                    "bool" => Ty::Bool,
                    "matches" => Ty::Bool,
                    "math.@max" | "math.@min" => Ty::Num,
                    _ => Ty::Dyn,
                }
            }
        }
    }

    fn arithmetic(
        &mut self,
        op: &str,
        written: &str,
        a: (&IdedExpr, Ty),
        b: (&IdedExpr, Ty),
    ) -> Ty {
        let ((ea, ta), (eb, tb)) = (a, b);
        match (&ta, &tb) {
            (Ty::Dyn, t) | (t, Ty::Dyn) => {
                if matches!(t, Ty::Str | Ty::List(_)) && op == "_+_" {
                    t.clone()
                } else {
                    Ty::Dyn
                }
            }
            (Ty::Int, Ty::Int) => Ty::Int,
            (Ty::Double, Ty::Double) => Ty::Double,
            (Ty::Num, t) | (t, Ty::Num) if t.is_numeric() => Ty::Num,
            (Ty::Int, Ty::Double) | (Ty::Double, Ty::Int) => {
                self.problem(format!(
                    "`{written}` mixes a whole number and a fraction, which fails: convert with `double(...)`"
                ));
                Ty::Double
            }
            (Ty::Str, Ty::Str) if op == "_+_" => Ty::Str,
            (Ty::List(x), Ty::List(y)) if op == "_+_" => Ty::List(Box::new(x.join(y))),
            _ => {
                self.problem(format!(
                    "`{written}` combines {ta} (`{}`) with {tb} (`{}`), which fails",
                    unparse(ea),
                    unparse(eb)
                ));
                Ty::Dyn
            }
        }
    }

    fn method(&mut self, name: &str, target: &IdedExpr, args: &[IdedExpr], written: &str) -> Ty {
        if let Expr::Ident(namespace) = &target.expr
            && NAMESPACES.contains(&namespace.as_str())
            && !self.scope.vars.contains_key(namespace)
        {
            for arg in args {
                self.ty(arg);
            }
            return Ty::Dyn;
        }
        let t = self.ty(target);
        for arg in args {
            self.ty(arg);
        }
        let on_text = |w: &mut Self, result: Ty| {
            w.not_null(target, &t, &format!("`.{name}()`"));
            match t.non_null() {
                Ty::Str | Ty::Dyn => {}
                other => w.problem(format!(
                    "`{written}`: `{name}` works on text, but `{}` is {other}",
                    unparse(target)
                )),
            }
            result
        };
        match name {
            "contains" | "startsWith" | "endsWith" | "matches" => on_text(self, Ty::Bool),
            "lowerAscii" | "upperAscii" | "trim" | "replace" | "substring" | "charAt"
            | "reverse" | "format" => on_text(self, Ty::Str),
            "split" => on_text(self, Ty::List(Box::new(Ty::Str))),
            "indexOf" | "lastIndexOf" => on_text(self, Ty::Int),
            "size" => {
                self.not_null(target, &t, "`.size()`");
                Ty::Int
            }
            "join" => Ty::Str,
            _ => Ty::Dyn,
        }
    }
}

/// The names the engine provides, and their types.
const RESERVED_NAMES: &[&str] = &[
    "message",
    "customer",
    "integration",
    "conversation",
    "now",
    "error",
];

fn reserved(name: &str) -> Option<Ty> {
    let s = || Ty::Str;
    let opt = |t: Ty| Ty::opt(t);
    Some(match name {
        "message" => Ty::obj(&[
            ("id", s()),
            ("text", s()),
            ("quick_reply", opt(s())),
            ("kind", s()),
            ("attachments", Ty::List(Box::new(Ty::Dyn))),
            ("reply_to", opt(s())),
            ("reaction", opt(s())),
        ]),
        "customer" => Ty::obj(&[
            ("id", s()),
            ("name", opt(s())),
            ("handle", opt(s())),
            ("verified", opt(Ty::Bool)),
            ("followers", opt(Ty::Int)),
            ("posts", opt(Ty::Int)),
            ("email", opt(s())),
        ]),
        "integration" | "conversation" => s(),
        "now" => Ty::Int,
        _ => return None,
    })
}
