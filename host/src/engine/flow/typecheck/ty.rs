//! The types the checker knows a flow's values by: what CEL would find at run time, as far as
//! the flow file tells. `Dyn` is "anything": it never causes a finding.

use std::collections::BTreeMap;
use std::fmt;

/// A value's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// Unknown: anything goes.
    Dyn,
    Null,
    Bool,
    Int,
    Double,
    /// A number that may be whole or not (a `number` answer).
    Num,
    Str,
    List(Box<Ty>),
    /// Text keys, values of one type (a data action's outputs).
    Map(Box<Ty>),
    /// Known fields (`customer`, `message`, a bot's result).
    Obj(BTreeMap<String, Ty>),
    /// The value or null (`customer.followers` when the platform gave none).
    Opt(Box<Ty>),
}

impl Ty {
    pub fn obj(fields: &[(&str, Ty)]) -> Ty {
        Ty::Obj(
            fields
                .iter()
                .map(|(k, t)| (k.to_string(), t.clone()))
                .collect(),
        )
    }

    pub fn opt(t: Ty) -> Ty {
        match t {
            Ty::Dyn | Ty::Null | Ty::Opt(_) => t,
            t => Ty::Opt(Box::new(t)),
        }
    }

    /// The type without its null case.
    pub fn non_null(&self) -> Ty {
        match self {
            Ty::Opt(inner) => (**inner).clone(),
            Ty::Null => Ty::Dyn,
            t => t.clone(),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Double | Ty::Num)
    }

    /// Whether a value of this type may be used where `true`/`false` is needed.
    pub fn is_boolish(&self) -> bool {
        matches!(self, Ty::Bool | Ty::Dyn)
    }

    /// The two types' union (where two paths meet, or the branches of `? :`).
    pub fn join(&self, other: &Ty) -> Ty {
        match (self, other) {
            (a, b) if a == b => a.clone(),
            (Ty::Dyn, _) | (_, Ty::Dyn) => Ty::Dyn,
            (Ty::Null, t) | (t, Ty::Null) => Ty::opt(t.clone()),
            (Ty::Opt(a), b) | (b, Ty::Opt(a)) => Ty::opt(a.join(&b.non_null())),
            (a, b) if a.is_numeric() && b.is_numeric() => Ty::Num,
            (Ty::List(a), Ty::List(b)) => Ty::List(Box::new(a.join(b))),
            (Ty::Map(a), Ty::Map(b)) => Ty::Map(Box::new(a.join(b))),
            _ => Ty::Dyn,
        }
    }

    /// Whether `==` between values of these types can ever be true (null and `Dyn` compare with
    /// anything; numbers with numbers).
    pub fn comparable(&self, other: &Ty) -> bool {
        let (a, b) = (self.non_null(), other.non_null());
        matches!(self, Ty::Null | Ty::Dyn)
            || matches!(other, Ty::Null | Ty::Dyn)
            || matches!(a, Ty::Dyn)
            || matches!(b, Ty::Dyn)
            || (a.is_numeric() && b.is_numeric())
            || std::mem::discriminant(&a) == std::mem::discriminant(&b)
            || matches!((&a, &b), (Ty::Map(_) | Ty::Obj(_), Ty::Map(_) | Ty::Obj(_)))
    }
}

impl fmt::Display for Ty {
    /// In an author's words: `text`, `a whole number`, `text or null`...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Dyn => write!(f, "a value"),
            Ty::Null => write!(f, "null"),
            Ty::Bool => write!(f, "true/false"),
            Ty::Int => write!(f, "a whole number (int)"),
            Ty::Double => write!(f, "a fraction (double)"),
            Ty::Num => write!(f, "a number"),
            Ty::Str => write!(f, "text"),
            Ty::List(_) => write!(f, "a list"),
            Ty::Map(_) | Ty::Obj(_) => write!(f, "a map"),
            Ty::Opt(inner) => write!(f, "{inner} or null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_comparisons() {
        assert_eq!(Ty::Str.join(&Ty::Null), Ty::Opt(Box::new(Ty::Str)));
        assert_eq!(Ty::Int.join(&Ty::Double), Ty::Num);
        assert_eq!(Ty::Str.join(&Ty::Int), Ty::Dyn);
        assert!(!Ty::Str.comparable(&Ty::Int));
        assert!(Ty::opt(Ty::Int).comparable(&Ty::Int));
        assert!(Ty::Str.comparable(&Ty::Null));
        assert_eq!(Ty::opt(Ty::Int).to_string(), "a whole number (int) or null");
    }
}
