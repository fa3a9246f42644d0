//! The Questions tab's rules DSL (DESIGN.md §5), pure: a parser ([`parse`]) and an
//! evaluator ([`eval`], [`truthy`]). `visibility_rules` hold `skip_if(expr)`,
//! `require_if(expr)`, `optional_if(expr)` and `show_if(expr)`; `nav_rules` hold
//! `goto_if(expr, target=qid)`. Expressions: `and`/`or`/`not` (also `&&`, `||`, `!`),
//! comparisons (`== != < <= > >=`), `x in [..]` and `x not in [..]`, strings, numbers,
//! `true`/`false`/`null`, `int(x)`, `len(x)`, and qids as identifiers (the answer to
//! that question; `null` when unanswered or skipped).
//!
//! Evaluation never fails: a comparison between values that cannot be compared is
//! false, so a rule about a question the recruit has not reached yet simply does not
//! fire. What can be wrong with a rule (syntax, an unknown qid) is found when the flow
//! is compiled, and reported by `ops onb check`.

mod parse;

#[cfg(test)]
pub(crate) use parse::expression;
pub(crate) use parse::parse;

/// A parse error at a 1-based character position of the cell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {pos}: {message}")]
pub(crate) struct RuleError {
    pub pos: usize,
    pub message: String,
}

impl RuleError {
    fn new(pos: usize, message: impl Into<String>) -> Self {
        RuleError {
            pos,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Lit(Lit),
    /// A qid, with where it was written (for "unknown qid" reports).
    Ident {
        name: String,
        pos: usize,
    },
    List(Vec<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Cmp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Box<Expr>),
    Int(Box<Expr>),
    Len(Box<Expr>),
}

impl Expr {
    /// Every qid the expression reads, with its position.
    pub(crate) fn idents(&self, out: &mut Vec<(String, usize)>) {
        match self {
            Expr::Lit(_) => {}
            Expr::Ident { name, pos } => out.push((name.clone(), *pos)),
            Expr::List(items) => items.iter().for_each(|e| e.idents(out)),
            Expr::Not(e) | Expr::Int(e) | Expr::Len(e) => e.idents(out),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) | Expr::In(a, b) => {
                a.idents(out);
                b.idents(out);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DirectiveKind {
    Skip,
    Require,
    Optional,
    Show,
    /// Jump to this qid.
    Goto(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Directive {
    pub kind: DirectiveKind,
    pub expr: Expr,
    pub pos: usize,
}

/// A value an expression works on: an answer, a literal, or a result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<String>),
}

impl Value {
    fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Str(s) => s.trim().replace([',', '_'], "").parse().ok(),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" | "1" => Some(true),
                "no" | "n" | "false" | "0" => Some(false),
                _ => None,
            },
            Value::Num(n) => Some(*n != 0.0),
            _ => None,
        }
    }
}

/// Whether a value counts as "yes" when a rule is just a qid (`skip_if(has_clan)`).
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Num(n) => *n != 0.0,
        Value::Str(s) => !s.trim().is_empty() && v.as_bool() != Some(false),
        Value::List(l) => !l.is_empty(),
    }
}

/// Equality as staff mean it: strings case- and space-insensitive, a bool equal to
/// "yes"/"no", a number equal to the text of that number; `null` equals only `null`.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Str(x), Value::Str(y)) => x.trim().eq_ignore_ascii_case(y.trim()),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|i| y.iter().any(|j| i.eq_ignore_ascii_case(j)))
        }
        (Value::List(l), other) | (other, Value::List(l)) => {
            l.len() == 1 && equal(&Value::Str(l[0].clone()), other)
        }
        (Value::Bool(_), _) | (_, Value::Bool(_)) => {
            a.as_bool().is_some() && a.as_bool() == b.as_bool()
        }
        _ => match (a.as_num(), b.as_num()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

fn items(v: Value) -> Vec<Value> {
    match v {
        Value::List(l) => l.into_iter().map(Value::Str).collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Evaluates `e`, reading answers through `answer` (a qid's answer, `Value::Null` when
/// there is none).
pub(crate) fn eval(e: &Expr, answer: &dyn Fn(&str) -> Value) -> Value {
    match e {
        Expr::Lit(Lit::Null) => Value::Null,
        Expr::Lit(Lit::Bool(b)) => Value::Bool(*b),
        Expr::Lit(Lit::Num(n)) => Value::Num(*n),
        Expr::Lit(Lit::Str(s)) => Value::Str(s.clone()),
        Expr::Ident { name, .. } => answer(name),
        Expr::List(items) => Value::List(
            items
                .iter()
                .filter_map(|i| match eval(i, answer) {
                    Value::Null => None,
                    Value::Str(s) => Some(s),
                    Value::Num(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(if b { "yes" } else { "no" }.to_owned()),
                    Value::List(l) => Some(l.join(",")),
                })
                .collect(),
        ),
        Expr::Not(x) => Value::Bool(!truthy(&eval(x, answer))),
        Expr::And(a, b) => Value::Bool(truthy(&eval(a, answer)) && truthy(&eval(b, answer))),
        Expr::Or(a, b) => Value::Bool(truthy(&eval(a, answer)) || truthy(&eval(b, answer))),
        Expr::Cmp(op, a, b) => {
            let (x, y) = (eval(a, answer), eval(b, answer));
            Value::Bool(match op {
                Cmp::Eq => equal(&x, &y),
                Cmp::Ne => !equal(&x, &y),
                ordered => match (x.as_num(), y.as_num()) {
                    (Some(x), Some(y)) => match ordered {
                        Cmp::Lt => x < y,
                        Cmp::Le => x <= y,
                        Cmp::Gt => x > y,
                        _ => x >= y,
                    },
                    _ => false,
                },
            })
        }
        Expr::In(x, list) => {
            let needles = items(eval(x, answer));
            let hay = items(eval(list, answer));
            Value::Bool(
                !needles.is_empty() && needles.iter().any(|n| hay.iter().any(|h| equal(n, h))),
            )
        }
        Expr::Int(x) => match eval(x, answer).as_num() {
            Some(n) if n.is_finite() => Value::Num(n.trunc()),
            _ => Value::Null,
        },
        Expr::Len(x) => match eval(x, answer) {
            Value::Null => Value::Num(0.0),
            Value::List(l) => Value::Num(l.len() as f64),
            Value::Str(s) => Value::Num(s.chars().count() as f64),
            _ => Value::Num(1.0),
        },
    }
}

#[cfg(test)]
mod tests;
