//! The rules DSL's parser: a cell of the Questions tab (`visibility_rules` or
//! `nav_rules`) becomes a list of directives, each `name(expr)` or
//! `goto_if(expr, target=qid)`, separated by spaces, new lines or `;`. Errors carry the
//! character position (1-based) so `ops onb check` can point at it.

use super::{Cmp, Directive, DirectiveKind, Expr, Lit, RuleError};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Assign,
    Semi,
    Op(Cmp),
    And,
    Or,
    Not,
}

/// How deep expressions may nest: a guard against a cell that would exhaust the stack.
const MAX_DEPTH: usize = 64;

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, RuleError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        let two = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => out.push((at, Tok::LParen)),
            ')' => out.push((at, Tok::RParen)),
            '[' => out.push((at, Tok::LBracket)),
            ']' => out.push((at, Tok::RBracket)),
            ',' => out.push((at, Tok::Comma)),
            ';' => out.push((at, Tok::Semi)),
            '=' if two == Some('=') => {
                out.push((at, Tok::Op(Cmp::Eq)));
                i += 1;
            }
            '=' => out.push((at, Tok::Assign)),
            '!' if two == Some('=') => {
                out.push((at, Tok::Op(Cmp::Ne)));
                i += 1;
            }
            '!' => out.push((at, Tok::Not)),
            '<' | '>' => {
                let eq = two == Some('=');
                let op = match (c, eq) {
                    ('<', false) => Cmp::Lt,
                    ('<', true) => Cmp::Le,
                    ('>', false) => Cmp::Gt,
                    _ => Cmp::Ge,
                };
                out.push((at, Tok::Op(op)));
                if eq {
                    i += 1;
                }
            }
            '&' if two == Some('&') => {
                out.push((at, Tok::And));
                i += 1;
            }
            '|' if two == Some('|') => {
                out.push((at, Tok::Or));
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(RuleError::new(at, "this string has no closing quote")),
                        Some('\\') if chars.get(j + 1).is_some() => {
                            s.push(chars[j + 1]);
                            j += 2;
                        }
                        Some(ch) if *ch == quote => break,
                        Some(ch) => {
                            s.push(*ch);
                            j += 1;
                        }
                    }
                }
                out.push((at, Tok::Str(s)));
                i = j + 1;
                continue;
            }
            c if c.is_ascii_digit()
                || (c == '-' && two.is_some_and(|d| d.is_ascii_digit()))
                || (c == '.' && two.is_some_and(|d| d.is_ascii_digit())) =>
            {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_ascii_digit() || chars[j] == '.' || chars[j] == '_')
                {
                    j += 1;
                }
                let text: String = chars[i..j].iter().filter(|c| **c != '_').collect();
                let n = text
                    .parse::<f64>()
                    .map_err(|_| RuleError::new(at, format!("{text:?} is not a number")))?;
                out.push((at, Tok::Num(n)));
                i = j;
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                out.push((
                    at,
                    match word.to_ascii_lowercase().as_str() {
                        "and" => Tok::And,
                        "or" => Tok::Or,
                        "not" => Tok::Not,
                        _ => Tok::Ident(word),
                    },
                ));
                i = j;
                continue;
            }
            other => {
                return Err(RuleError::new(
                    at,
                    format!("unexpected character {other:?}"),
                ));
            }
        }
        i += 1;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn new(src: &str) -> Result<Parser, RuleError> {
        Ok(Parser {
            toks: lex(src)?,
            i: 0,
            end: src.chars().count() + 1,
            depth: 0,
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map(|(p, _)| *p).unwrap_or(self.end)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).map(|(_, t)| t.clone());
        self.i += 1;
        t
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<(), RuleError> {
        let pos = self.pos();
        match self.next() {
            Some(t) if &t == want => Ok(()),
            Some(_) => Err(RuleError::new(pos, format!("expected {what}"))),
            None => Err(RuleError::new(
                pos,
                format!("expected {what}, found the end"),
            )),
        }
    }

    fn deeper(&mut self) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::new(
                self.pos(),
                "this expression nests too deeply",
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        self.deeper()?;
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.i += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        let mut left = self.not()?;
        while self.peek() == Some(&Tok::And) {
            self.i += 1;
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, RuleError> {
        if self.peek() == Some(&Tok::Not) {
            self.i += 1;
            self.deeper()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, RuleError> {
        let left = self.primary()?;
        match self.peek() {
            Some(Tok::Op(op)) => {
                let op = *op;
                self.i += 1;
                let right = self.primary()?;
                Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
            }
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("in") => {
                self.i += 1;
                let right = self.primary()?;
                Ok(Expr::In(Box::new(left), Box::new(right)))
            }
            Some(Tok::Not) if matches!(self.toks.get(self.i + 1), Some((_, Tok::Ident(w))) if w.eq_ignore_ascii_case("in")) =>
            {
                self.i += 2;
                let right = self.primary()?;
                Ok(Expr::Not(Box::new(Expr::In(
                    Box::new(left),
                    Box::new(right),
                ))))
            }
            _ => Ok(left),
        }
    }

    fn primary(&mut self) -> Result<Expr, RuleError> {
        let pos = self.pos();
        match self.next() {
            Some(Tok::Num(n)) => Ok(Expr::Lit(Lit::Num(n))),
            Some(Tok::Str(s)) => Ok(Expr::Lit(Lit::Str(s))),
            Some(Tok::LParen) => {
                let e = self.or()?;
                self.expect(&Tok::RParen, "`)`")?;
                Ok(e)
            }
            Some(Tok::LBracket) => {
                let mut items = Vec::new();
                if self.peek() == Some(&Tok::RBracket) {
                    self.i += 1;
                    return Ok(Expr::List(items));
                }
                loop {
                    items.push(self.primary()?);
                    let p = self.pos();
                    match self.next() {
                        Some(Tok::Comma) => continue,
                        Some(Tok::RBracket) => break,
                        _ => return Err(RuleError::new(p, "expected `,` or `]` in the list")),
                    }
                }
                Ok(Expr::List(items))
            }
            Some(Tok::Ident(w)) => {
                let lower = w.to_ascii_lowercase();
                match lower.as_str() {
                    "true" | "yes" => Ok(Expr::Lit(Lit::Bool(true))),
                    "false" | "no" => Ok(Expr::Lit(Lit::Bool(false))),
                    "null" | "none" | "empty" => Ok(Expr::Lit(Lit::Null)),
                    "int" | "len" if self.peek() == Some(&Tok::LParen) => {
                        self.i += 1;
                        let e = self.or()?;
                        self.expect(&Tok::RParen, "`)`")?;
                        Ok(if lower == "int" {
                            Expr::Int(Box::new(e))
                        } else {
                            Expr::Len(Box::new(e))
                        })
                    }
                    _ => Ok(Expr::Ident { name: w, pos }),
                }
            }
            Some(_) => Err(RuleError::new(
                pos,
                "expected a value, a question id or `(`",
            )),
            None => Err(RuleError::new(pos, "expected a value, found the end")),
        }
    }

    fn directive(&mut self) -> Result<Directive, RuleError> {
        let pos = self.pos();
        let name = match self.next() {
            Some(Tok::Ident(w)) => w,
            _ => {
                return Err(RuleError::new(
                    pos,
                    "expected a directive: skip_if, require_if, optional_if, show_if or goto_if",
                ));
            }
        };
        let kind = match name.to_ascii_lowercase().as_str() {
            "skip_if" => DirectiveKind::Skip,
            "require_if" => DirectiveKind::Require,
            "optional_if" => DirectiveKind::Optional,
            "show_if" => DirectiveKind::Show,
            "goto_if" => DirectiveKind::Goto(String::new()),
            _ => {
                return Err(RuleError::new(
                    pos,
                    format!(
                        "{name:?} is not a directive; use skip_if, require_if, optional_if, show_if or goto_if"
                    ),
                ));
            }
        };
        self.expect(&Tok::LParen, &format!("`(` after {name}"))?;
        let expr = self.or()?;
        let kind = match kind {
            DirectiveKind::Goto(_) => {
                self.expect(&Tok::Comma, "`, target=<qid>` in goto_if")?;
                let p = self.pos();
                match (self.next(), self.next(), self.next()) {
                    (Some(Tok::Ident(t)), Some(Tok::Assign), Some(Tok::Ident(q)))
                        if t.eq_ignore_ascii_case("target") =>
                    {
                        DirectiveKind::Goto(q)
                    }
                    _ => return Err(RuleError::new(p, "expected `target=<qid>`")),
                }
            }
            other => other,
        };
        self.expect(&Tok::RParen, &format!("`)` closing {name}"))?;
        Ok(Directive { kind, expr, pos })
    }
}

/// Parses one rules cell into its directives; an empty cell has none.
pub(crate) fn parse(src: &str) -> Result<Vec<Directive>, RuleError> {
    let mut p = Parser::new(src)?;
    let mut out = Vec::new();
    while p.peek().is_some() {
        if p.peek() == Some(&Tok::Semi) {
            p.i += 1;
            continue;
        }
        out.push(p.directive()?);
    }
    Ok(out)
}

/// Parses one expression on its own (tests and benchmarks).
#[cfg(test)]
pub(crate) fn expression(src: &str) -> Result<Expr, RuleError> {
    let mut p = Parser::new(src)?;
    let e = p.or()?;
    if p.peek().is_some() {
        return Err(RuleError::new(
            p.pos(),
            "unexpected text after the expression",
        ));
    }
    Ok(e)
}
