//! OData queries for the Noark 5 tjenestegrensesnitt: parsing `$filter`, `$orderby`, `$top`,
//! `$skip` and `$search` from a raw query string, and evaluating them against objects in the
//! Noark 5 JSON shape. Pure: no I/O.
//!
//! # What is supported
//!
//! The standard's basic level (chapter 6, «Finne objekter»): `eq ne gt ge lt le`, `and or not`,
//! parentheses, `contains`, `startswith`, `endswith`, `tolower`/`toupper` around a property,
//! paths through one-to-one groups and code values (`gradering/graderingskode/kode`), and
//! virksomhetsspesifikke metadata by their prefixed names (`ppt-v1:skoleaar`). The extended
//! level (`any`/`all` lambdas), `$expand`, `$select`, `$count`, `$format`, arithmetic, `in`,
//! `has` and every other function are refused with [`ODataError::Unsupported`] naming the
//! construct, never silently ignored.
//!
//! # Choices
//!
//! * **Decoding.** The whole raw query is percent-decoded first (invalid UTF-8 is an error),
//!   then split on `&` outside quoted literals. A quote opens a literal only at a token boundary
//!   (start of a value, after whitespace, `(`, `,`, `=` or `+`), so `$search=don't` does not
//!   swallow the rest of the query.
//! * **`+`.** Inside a quoted literal `+` is a plus sign (RFC 3986 and the OData ABNF; the
//!   standard writes its examples with plain spaces). Outside literals `+` is read as a space,
//!   so form-encoded clients (`$filter=tittel+eq+'x'`) work, except where it is the sign of a
//!   bare date-time offset (`2024-01-01T00:00:00+01:00`) or of a number after whitespace.
//! * **Literals.** `'…'` with `''` for a quote, `"…"` with `""` for a quote, and `‘…’` (the
//!   typographic quotes the standard's own examples use). Bare dates, date-times and GUIDs
//!   (`overklasse eq 7b3989b0-53d7-11e9-bd4e-17d6c4d53856`) are read as strings.
//! * **Letter case.** Operators, function names, `true`/`false`/`null`, `asc`/`desc` and the
//!   `$`-option names are case-insensitive. Property names are case-sensitive (Noark field
//!   names). `eq` on strings is exact. `contains`/`startswith`/`endswith` are case-sensitive
//!   too, as OData defines them and as Nikita does (SQL `like`); wrap the property in
//!   `tolower(…)` for a case-insensitive match. `$search` is case-insensitive.
//! * **Code values.** A path ending at a code object (`{"kode":…,"kodenavn":…}`) compares
//!   equal when the literal equals *either* `kode` or `kodenavn` (`journalposttype eq 'I'` and
//!   `journalposttype eq 'Inngående dokument'` both match); `contains` & co. look at both too;
//!   ordering (`gt`, `$orderby`) uses `kode`. `journalposttype/kode` walks into the object.
//! * **Arrays.** A step that meets an array fans out over its elements; a comparison is true if
//!   it holds for ANY reachable value (so `part/navn ne 'Ola'` means "some part is not named
//!   Ola"; use `not (part/navn eq 'Ola')` for "no part is named Ola"). An empty array counts as
//!   null.
//! * **Null.** A missing property (or an explicit JSON `null`) is null. Comparing with the
//!   literal `null` tests for it: `x eq null` is true when `x` is null, `x ne null` when it is
//!   not. Every other comparison involving a null value is false, `ne` included (`x ne 'a'` is
//!   false when `x` is missing, as in SQL), and so are the string functions. A non-code object
//!   is never equal to a value (but is `ne null`).
//! * **Virksomhetsspesifikke metadata.** When the first step of a path is not a key of the
//!   document, it is looked up in `doc["virksomhetsspesifikkeMetadata"]`.
//! * **Dates.** When both sides parse as dates or date-times they compare chronologically:
//!   date-times by instant (offsets respected; a date-time without offset is read as UTC),
//!   dates by calendar day, and a date against a date-time by the date-time's own calendar
//!   day. Otherwise numbers compare numerically and everything else as strings (by code
//!   point).
//! * **`$orderby`.** Nulls first in ascending order (last in descending); an array sorts by its
//!   first element; values of different kinds order null < booleans < numbers < strings.
//! * **`$search`.** One phrase (surrounding quotes removed; unquoted, `+` is a space), matched case-insensitively as a
//!   substring of any string value anywhere in the document except under `_links`.
//! * A repeated `$`-option is an error; parameters not starting with `$` are ignored.

use std::cmp::Ordering;

use percent_encoding::percent_decode_str;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// A parsed OData query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// `$filter`, if given.
    pub filter: Option<Expr>,
    /// `$top`, if given.
    pub top: Option<u64>,
    /// `$skip` (0 when not given).
    pub skip: u64,
    /// `$orderby`, in priority order.
    pub orderby: Vec<(Path, Direction)>,
    /// `$search`, with surrounding quotes removed.
    pub search: Option<String>,
}

/// A sort direction in `$orderby`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending (the default).
    Asc,
    /// Descending.
    Desc,
}

/// A property path: `part/navn` is `["part", "navn"]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path(pub Vec<String>);

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

/// A supported string function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `contains(a, b)`: `b` occurs in `a`.
    Contains,
    /// `startswith(a, b)`
    StartsWith,
    /// `endswith(a, b)`
    EndsWith,
}

/// A letter-case transform applied to a property (`tolower(p)`, `toupper(p)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseFold {
    /// `tolower`
    Lower,
    /// `toupper`
    Upper,
}

/// A literal value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, with its text as written.
    Number(f64, String),
    /// A quoted string, or a bare date, date-time or GUID.
    String(String),
}

/// One side of a comparison or a function argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A property path, optionally case-folded.
    Path(Path, Option<CaseFold>),
    /// A literal.
    Literal(Literal),
}

/// A `$filter` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
    /// `not a`
    Not(Box<Expr>),
    /// `left op right`
    Compare(Operand, CompareOp, Operand),
    /// `func(left, right)`
    Call(Func, Operand, Operand),
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ODataError {
    /// A valid OData construct this implementation does not support, named.
    #[error("unsupported OData construct: {0}")]
    Unsupported(String),
    /// Malformed syntax; `at` is a byte offset in the decoded value of the option.
    #[error("syntax error in {option} at byte {at}: {message}")]
    Syntax {
        /// The option the error is in (`$filter`, `$orderby`).
        option: String,
        /// Byte offset within the decoded option value.
        at: usize,
        /// What is wrong.
        message: String,
    },
    /// An option value that is not valid (`$top=-1`).
    #[error("invalid value for {option}: {value:?}")]
    InvalidValue {
        /// The option.
        option: String,
        /// The offending value.
        value: String,
    },
    /// The same `$`-option given twice.
    #[error("query option {0} given more than once")]
    Duplicate(String),
    /// The query string does not percent-decode to UTF-8.
    #[error("the query string is not valid percent-encoded UTF-8")]
    Encoding,
}

// ---------------------------------------------------------------------------------------------
// Splitting the raw query
// ---------------------------------------------------------------------------------------------

/// The closing quote for an opening quote character, if it is one.
fn closing_quote(c: char) -> Option<char> {
    match c {
        '\'' => Some('\''),
        '"' => Some('"'),
        '\u{2018}' => Some('\u{2019}'),
        _ => None,
    }
}

fn is_quote_boundary(prev: Option<char>) -> bool {
    match prev {
        None => true,
        Some(p) => p.is_whitespace() || matches!(p, '(' | ',' | '=' | '+' | '&'),
    }
}

/// Splits on `&` outside quoted literals.
fn split_params(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    let mut prev: Option<char> = None;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(close) => {
                if c == close {
                    // A doubled quote is an escaped quote and stays inside.
                    if close != '\u{2019}' && chars.peek().map(|&(_, n)| n) == Some(close) {
                        chars.next();
                    } else {
                        quote = None;
                    }
                }
            }
            None => {
                if c == '&' {
                    out.push(&s[start..i]);
                    start = i + 1;
                } else if let Some(close) = closing_quote(c)
                    && is_quote_boundary(prev)
                {
                    quote = Some(close);
                }
            }
        }
        prev = Some(c);
    }
    out.push(&s[start..]);
    out
}

/// Parses a raw query string (the part after `?`; a leading `?` is tolerated).
///
/// See the module documentation for the decoding rules.
pub fn parse(raw_query: &str) -> Result<Query, ODataError> {
    let raw = raw_query.strip_prefix('?').unwrap_or(raw_query);
    let decoded = percent_decode_str(raw).decode_utf8().map_err(|_| ODataError::Encoding)?;
    let mut query = Query::default();
    let mut seen: Vec<String> = Vec::new();
    for param in split_params(&decoded) {
        if param.is_empty() {
            continue;
        }
        let (name, value) = match param.find('=') {
            Some(i) => (&param[..i], Some(&param[i + 1..])),
            None => (param, None),
        };
        let name = name.trim();
        if !name.starts_with('$') {
            continue;
        }
        let lname = name.to_lowercase();
        let known = matches!(lname.as_str(), "$filter" | "$top" | "$skip" | "$orderby" | "$search");
        if !known {
            return Err(ODataError::Unsupported(lname));
        }
        if seen.contains(&lname) {
            return Err(ODataError::Duplicate(lname));
        }
        seen.push(lname.clone());
        let value = value.ok_or_else(|| ODataError::InvalidValue { option: lname.clone(), value: String::new() })?;
        match lname.as_str() {
            "$filter" => query.filter = Some(parse_filter(value)?),
            "$top" => query.top = Some(parse_count("$top", value)?),
            "$skip" => query.skip = parse_count("$skip", value)?,
            "$orderby" => query.orderby = parse_orderby(value)?,
            _ => query.search = Some(parse_search(value)),
        }
    }
    Ok(query)
}

fn parse_count(option: &str, value: &str) -> Result<u64, ODataError> {
    let v = value.trim_matches(|c: char| c == ' ' || c == '+');
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ODataError::InvalidValue { option: option.to_owned(), value: value.to_owned() });
    }
    v.parse().map_err(|_| ODataError::InvalidValue { option: option.to_owned(), value: value.to_owned() })
}

fn parse_search(value: &str) -> String {
    let v = value.trim();
    for (open, close) in [('\'', '\''), ('"', '"'), ('\u{2018}', '\u{2019}')] {
        if v.len() >= open.len_utf8() + close.len_utf8() && v.starts_with(open) && v.ends_with(close) {
            let inner = &v[open.len_utf8()..v.len() - close.len_utf8()];
            let doubled = format!("{close}{close}");
            return inner.replace(&doubled, &close.to_string());
        }
    }
    // Outside a quoted phrase `+` is a form-encoded space.
    v.replace('+', " ")
}

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Slash,
    /// An identifier or keyword, as written.
    Word(String),
    Str(String),
    Num(f64, String),
    /// A bare date, date-time or GUID.
    Bare(String),
}

fn syntax(option: &str, at: usize, message: impl Into<String>) -> ODataError {
    ODataError::Syntax { option: option.to_owned(), at, message: message.into() }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.')
}

fn lex(option: &str, s: &str) -> Result<Vec<(usize, Tok)>, ODataError> {
    let mut toks = Vec::new();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(s.len(), |&(b, _)| b);
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c.is_whitespace() || c == '+' && !starts_signed_number(&chars, i) {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                toks.push((at, Tok::LParen));
                i += 1;
            }
            ')' => {
                toks.push((at, Tok::RParen));
                i += 1;
            }
            ',' => {
                toks.push((at, Tok::Comma));
                i += 1;
            }
            '/' => {
                toks.push((at, Tok::Slash));
                i += 1;
            }
            _ if closing_quote(c).is_some() => {
                let close = closing_quote(c).unwrap_or(c);
                let mut text = String::new();
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    let ch = chars[i].1;
                    if ch == close {
                        if close != '\u{2019}' && chars.get(i + 1).map(|&(_, n)| n) == Some(close) {
                            text.push(close);
                            i += 2;
                            continue;
                        }
                        closed = true;
                        i += 1;
                        break;
                    }
                    text.push(ch);
                    i += 1;
                }
                if !closed {
                    return Err(syntax(option, at, "unterminated string literal"));
                }
                toks.push((at, Tok::Str(text)));
            }
            '$' => {
                // `$it`, `$root`, `…/$count`: none of these is supported.
                i += 1;
                while i < chars.len() && is_ident_char(chars[i].1) {
                    i += 1;
                }
                let after_slash = matches!(toks.last(), Some((_, Tok::Slash)));
                let name = s[at..end_of(i)].to_lowercase();
                return Err(ODataError::Unsupported(if after_slash { format!("/{name}") } else { name }));
            }
            _ if c.is_ascii_digit() || (c == '-' || c == '+') && starts_signed_number(&chars, i) => {
                let start = i;
                i += 1;
                while i < chars.len() && (is_ident_char(chars[i].1)) {
                    i += 1;
                }
                // A date-time's positive offset: `…T10:00:00+01:00`.
                let so_far = &s[at..end_of(i)];
                if chars.get(i).map(|&(_, n)| n) == Some('+') && so_far.contains('T') {
                    let mut j = i + 1;
                    while j < chars.len() && (chars[j].1.is_ascii_digit() || chars[j].1 == ':') {
                        j += 1;
                    }
                    if j > i + 1 {
                        i = j;
                    }
                }
                let text = &s[chars[start].0..end_of(i)];
                toks.push((at, classify_bare(option, at, text)?));
            }
            _ if c.is_alphabetic() || c == '_' => {
                i += 1;
                while i < chars.len() && is_ident_char(chars[i].1) {
                    i += 1;
                }
                toks.push((at, Tok::Word(s[at..end_of(i)].to_owned())));
            }
            _ => return Err(syntax(option, at, format!("unexpected character {c:?}"))),
        }
    }
    Ok(toks)
}

/// `+` or `-` directly followed by a digit, at a token boundary.
fn starts_signed_number(chars: &[(usize, char)], i: usize) -> bool {
    let prev_ok = i == 0 || {
        let p = chars[i - 1].1;
        p.is_whitespace() || matches!(p, '(' | ',' | '+')
    };
    prev_ok && matches!(chars[i].1, '+' | '-') && chars.get(i + 1).is_some_and(|&(_, n)| n.is_ascii_digit())
}

fn is_number(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits) && exp.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn classify_bare(option: &str, at: usize, text: &str) -> Result<Tok, ODataError> {
    if is_number(text) {
        return match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Tok::Num(n, text.to_owned())),
            _ => Err(syntax(option, at, format!("number out of range: {text}"))),
        };
    }
    if parse_temporal(text).is_some() || is_guid(text) {
        return Ok(Tok::Bare(text.to_owned()));
    }
    Err(syntax(option, at, format!("not a valid literal: {text}")))
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/// Bounds the size of a filter (and so the depth of evaluation).
const MAX_TOKENS: usize = 2000;

const UNSUPPORTED_OPERATORS: &[&str] = &["has", "in", "add", "sub", "mul", "div", "divby", "mod"];

struct Parser<'a> {
    option: &'a str,
    toks: Vec<(usize, Tok)>,
    pos: usize,
    len: usize,
}

fn keyword(tok: Option<&Tok>) -> Option<String> {
    match tok {
        Some(Tok::Word(w)) => Some(w.to_lowercase()),
        _ => None,
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |&(a, _)| a)
    }

    fn err(&self, message: impl Into<String>) -> ODataError {
        syntax(self.option, self.at(), message)
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<(), ODataError> {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected {what}")))
        }
    }

    fn or_expr(&mut self, depth: usize) -> Result<Expr, ODataError> {
        let mut left = self.and_expr(depth)?;
        while keyword(self.peek()).as_deref() == Some("or") {
            self.pos += 1;
            let right = self.and_expr(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize) -> Result<Expr, ODataError> {
        let mut left = self.unary(depth)?;
        while keyword(self.peek()).as_deref() == Some("and") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, ODataError> {
        if depth > 64 {
            return Err(self.err("expression nested too deeply"));
        }
        if keyword(self.peek()).as_deref() == Some("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, ODataError> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or_expr(depth + 1)?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(inner);
        }
        if let Some(name) = keyword(self.peek())
            && self.peek_at(1) == Some(&Tok::LParen)
        {
            let func = match name.as_str() {
                "contains" => Some(Func::Contains),
                "startswith" => Some(Func::StartsWith),
                "endswith" => Some(Func::EndsWith),
                "tolower" | "toupper" => None,
                _ => return Err(ODataError::Unsupported(format!("function '{name}'"))),
            };
            if let Some(func) = func {
                self.pos += 2;
                let a = self.operand()?;
                self.expect(&Tok::Comma, "','")?;
                let b = self.operand()?;
                self.expect(&Tok::RParen, "')'")?;
                let call = Expr::Call(func, a, b);
                // `contains(…) eq true` and friends.
                if let Some(op) = keyword(self.peek())
                    && (op == "eq" || op == "ne")
                {
                    self.pos += 1;
                    let want = match keyword(self.peek()).as_deref() {
                        Some("true") => true,
                        Some("false") => false,
                        _ => return Err(self.err("expected true or false")),
                    };
                    self.pos += 1;
                    return Ok(if want == (op == "eq") { call } else { Expr::Not(Box::new(call)) });
                }
                return Ok(call);
            }
        }
        let left = self.operand()?;
        let op = match keyword(self.peek()) {
            Some(k) => match k.as_str() {
                "eq" => CompareOp::Eq,
                "ne" => CompareOp::Ne,
                "gt" => CompareOp::Gt,
                "ge" => CompareOp::Ge,
                "lt" => CompareOp::Lt,
                "le" => CompareOp::Le,
                k if UNSUPPORTED_OPERATORS.contains(&k) => {
                    return Err(ODataError::Unsupported(format!("operator '{k}'")));
                }
                _ => return Err(self.err("expected a comparison operator")),
            },
            None => return Err(self.err("expected a comparison operator")),
        };
        self.pos += 1;
        let right = self.operand()?;
        if let Some(k) = keyword(self.peek())
            && UNSUPPORTED_OPERATORS.contains(&k.as_str())
        {
            return Err(ODataError::Unsupported(format!("operator '{k}'")));
        }
        Ok(Expr::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, ODataError> {
        let tok = self.peek().cloned();
        match tok {
            Some(Tok::Str(s)) | Some(Tok::Bare(s)) => {
                self.pos += 1;
                Ok(Operand::Literal(Literal::String(s)))
            }
            Some(Tok::Num(n, raw)) => {
                self.pos += 1;
                Ok(Operand::Literal(Literal::Number(n, raw)))
            }
            Some(Tok::Word(w)) => {
                let lw = w.to_lowercase();
                if self.peek_at(1) == Some(&Tok::LParen) {
                    let fold = match lw.as_str() {
                        "tolower" => CaseFold::Lower,
                        "toupper" => CaseFold::Upper,
                        _ => return Err(ODataError::Unsupported(format!("function '{lw}'"))),
                    };
                    self.pos += 2;
                    let path = self.path()?;
                    self.expect(&Tok::RParen, "')'")?;
                    return Ok(Operand::Path(path, Some(fold)));
                }
                // A typed literal such as `datetime'2024-01-01T00:00:00'`.
                if let Some(Tok::Str(s)) = self.peek_at(1).cloned()
                    && self.toks[self.pos + 1].0 == self.toks[self.pos].0 + w.len()
                {
                    return match lw.as_str() {
                        "datetime" | "datetimeoffset" | "guid" | "date" => {
                            self.pos += 2;
                            Ok(Operand::Literal(Literal::String(s)))
                        }
                        _ => Err(ODataError::Unsupported(format!("typed literal '{lw}'"))),
                    };
                }
                match lw.as_str() {
                    "null" => {
                        self.pos += 1;
                        Ok(Operand::Literal(Literal::Null))
                    }
                    "true" | "false" => {
                        self.pos += 1;
                        Ok(Operand::Literal(Literal::Bool(lw == "true")))
                    }
                    "and" | "or" | "not" | "eq" | "ne" | "gt" | "ge" | "lt" | "le" => {
                        Err(self.err(format!("expected a property or a value, found '{w}'")))
                    }
                    _ => Ok(Operand::Path(self.path()?, None)),
                }
            }
            Some(_) => Err(self.err("expected a property or a value")),
            None => Err(self.err("unexpected end of expression")),
        }
    }

    fn path(&mut self) -> Result<Path, ODataError> {
        let mut steps = Vec::new();
        loop {
            match self.peek().cloned() {
                Some(Tok::Word(w)) => {
                    self.pos += 1;
                    steps.push(w);
                }
                _ => return Err(self.err("expected a property name")),
            }
            if self.peek() != Some(&Tok::Slash) {
                break;
            }
            self.pos += 1;
            if let Some(lw) = keyword(self.peek())
                && (lw == "any" || lw == "all")
                && self.peek_at(1) == Some(&Tok::LParen)
            {
                return Err(ODataError::Unsupported(format!("lambda operator '{lw}'")));
            }
        }
        Ok(Path(steps))
    }
}

fn parse_filter(value: &str) -> Result<Expr, ODataError> {
    const OPTION: &str = "$filter";
    let toks = lex(OPTION, value)?;
    if toks.is_empty() {
        return Err(syntax(OPTION, 0, "empty filter"));
    }
    if toks.len() > MAX_TOKENS {
        return Err(syntax(OPTION, toks[MAX_TOKENS].0, "filter too long"));
    }
    let mut p = Parser { option: OPTION, toks, pos: 0, len: value.len() };
    let expr = p.or_expr(0)?;
    if p.pos < p.toks.len() {
        if let Some(k) = keyword(p.peek())
            && UNSUPPORTED_OPERATORS.contains(&k.as_str())
        {
            return Err(ODataError::Unsupported(format!("operator '{k}'")));
        }
        return Err(p.err("unexpected text after the expression"));
    }
    Ok(expr)
}

fn parse_orderby(value: &str) -> Result<Vec<(Path, Direction)>, ODataError> {
    const OPTION: &str = "$orderby";
    let toks = lex(OPTION, value)?;
    let mut p = Parser { option: OPTION, toks, pos: 0, len: value.len() };
    let mut out = Vec::new();
    loop {
        if let Some(name) = keyword(p.peek())
            && p.peek_at(1) == Some(&Tok::LParen)
        {
            return Err(ODataError::Unsupported(format!("function '{name}'")));
        }
        let path = p.path()?;
        let dir = match keyword(p.peek()).as_deref() {
            Some("asc") => {
                p.pos += 1;
                Direction::Asc
            }
            Some("desc") => {
                p.pos += 1;
                Direction::Desc
            }
            _ => Direction::Asc,
        };
        out.push((path, dir));
        match p.peek() {
            None => break,
            Some(Tok::Comma) => p.pos += 1,
            Some(_) => return Err(p.err("expected ',' or the end of $orderby")),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

const VSM: &str = "virksomhetsspesifikkeMetadata";

/// A value reached by a path, seen as a comparable scalar.
#[derive(Debug, Clone)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    Num(f64, String),
    Str(String),
    Code(&'a str, Option<&'a str>),
    /// An object that is not a code value.
    Other,
}

/// Every value a path reaches (arrays fan out); `None` is missing/null.
fn resolve<'a>(doc: &'a Value, path: &Path) -> Vec<Option<&'a Value>> {
    let mut current: Vec<Option<&'a Value>> = Vec::new();
    let Some((first, rest)) = path.0.split_first() else {
        return vec![Some(doc)];
    };
    let start = match doc.get(first.as_str()) {
        Some(v) => Some(v),
        None => doc.get(VSM).and_then(|m| m.get(first.as_str())),
    };
    push_flat(&mut current, start);
    for step in rest {
        let mut next = Vec::new();
        for v in current {
            push_flat(&mut next, v.and_then(|v| v.get(step.as_str())));
        }
        current = next;
    }
    current
}

fn push_flat<'a>(out: &mut Vec<Option<&'a Value>>, v: Option<&'a Value>) {
    match v {
        Some(Value::Array(items)) => {
            if items.is_empty() {
                out.push(None);
            }
            for item in items {
                match item {
                    Value::Array(_) => push_flat(out, Some(item)),
                    _ => out.push(Some(item)),
                }
            }
        }
        Some(Value::Null) | None => out.push(None),
        Some(v) => out.push(Some(v)),
    }
}

fn fold(s: &str, f: Option<CaseFold>) -> String {
    match f {
        None => s.to_owned(),
        Some(CaseFold::Lower) => s.to_lowercase(),
        Some(CaseFold::Upper) => s.to_uppercase(),
    }
}

fn scalar(v: Option<&Value>, f: Option<CaseFold>) -> Scalar<'_> {
    match v {
        None | Some(Value::Null) => Scalar::Null,
        Some(Value::Bool(b)) => Scalar::Bool(*b),
        Some(Value::Number(n)) => Scalar::Num(n.as_f64().unwrap_or(f64::NAN), n.to_string()),
        Some(Value::String(s)) => Scalar::Str(fold(s, f)),
        Some(Value::Object(o)) => match o.get("kode") {
            Some(Value::String(k)) => {
                let navn = o.get("kodenavn").and_then(Value::as_str);
                if f.is_some() {
                    // Case-folded code: compare on folded kode.
                    Scalar::Str(fold(k, f))
                } else {
                    Scalar::Code(k, navn)
                }
            }
            _ => Scalar::Other,
        },
        Some(Value::Array(_)) => Scalar::Other,
    }
}

fn literal_scalar(l: &Literal) -> Scalar<'static> {
    match l {
        Literal::Null => Scalar::Null,
        Literal::Bool(b) => Scalar::Bool(*b),
        Literal::Number(n, raw) => Scalar::Num(*n, raw.clone()),
        Literal::String(s) => Scalar::Str(s.clone()),
    }
}

fn operand_values<'a>(doc: &'a Value, op: &Operand) -> Vec<Scalar<'a>> {
    match op {
        Operand::Literal(l) => vec![literal_scalar(l)],
        Operand::Path(p, f) => resolve(doc, p).into_iter().map(|v| scalar(v, *f)).collect(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Temporal {
    Date(Date),
    DateTime(OffsetDateTime),
}

fn parse_temporal(s: &str) -> Option<Temporal> {
    if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(Temporal::DateTime(dt));
    }
    let local_dt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let local_frac = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    for fmt in [local_dt, local_frac] {
        if let Ok(p) = PrimitiveDateTime::parse(s, fmt) {
            return Some(Temporal::DateTime(p.assume_utc()));
        }
    }
    // A date, possibly with a zone (`2024-01-01Z`, `2024-01-01+01:00`) that does not move it.
    let date_part = s.get(..10)?;
    let zone = &s[10..];
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (zone.len() == 6
            && zone.starts_with(['+', '-'])
            && OffsetDateTime::parse(&format!("2000-01-01T00:00:00{zone}"), &Rfc3339).is_ok());
    if !zone_ok {
        return None;
    }
    Date::parse(date_part, format_description!("[year]-[month]-[day]")).ok().map(Temporal::Date)
}

fn compare_temporal(a: Temporal, b: Temporal) -> Ordering {
    match (a, b) {
        (Temporal::DateTime(x), Temporal::DateTime(y)) => x.cmp(&y),
        (Temporal::Date(x), Temporal::Date(y)) => x.cmp(&y),
        (Temporal::Date(x), Temporal::DateTime(y)) => x.cmp(&y.date()),
        (Temporal::DateTime(x), Temporal::Date(y)) => x.date().cmp(&y),
    }
}

fn compare_str(a: &str, b: &str) -> Ordering {
    match (parse_temporal(a), parse_temporal(b)) {
        (Some(x), Some(y)) => compare_temporal(x, y),
        _ => a.cmp(b),
    }
}

fn num_vs_str(n: f64, raw: &str, s: &str) -> Ordering {
    match s.trim().parse::<f64>() {
        Ok(m) => n.partial_cmp(&m).unwrap_or(Ordering::Equal),
        Err(_) => compare_str(raw, s),
    }
}

/// Equality between two scalars (null equals null).
fn scalar_eq(a: &Scalar<'_>, b: &Scalar<'_>) -> bool {
    use Scalar as S;
    match (a, b) {
        (S::Null, S::Null) => true,
        (S::Null, _) | (_, S::Null) | (S::Other, _) | (_, S::Other) => false,
        (S::Code(k1, _), S::Code(k2, _)) => k1 == k2,
        (S::Code(k, n), other) | (other, S::Code(k, n)) => {
            scalar_eq(&S::Str((*k).to_owned()), other) || n.is_some_and(|n| scalar_eq(&S::Str(n.to_owned()), other))
        }
        _ => scalar_cmp(a, b) == Some(Ordering::Equal),
    }
}

/// Ordering between two scalars, if they are comparable (never with null).
fn scalar_cmp(a: &Scalar<'_>, b: &Scalar<'_>) -> Option<Ordering> {
    use Scalar as S;
    match (a, b) {
        (S::Null, _) | (_, S::Null) | (S::Other, _) | (_, S::Other) => None,
        (S::Code(k, _), other) => scalar_cmp(&S::Str((*k).to_owned()), other),
        (other, S::Code(k, _)) => scalar_cmp(other, &S::Str((*k).to_owned())),
        (S::Bool(x), S::Bool(y)) => Some(x.cmp(y)),
        (S::Num(x, _), S::Num(y, _)) => x.partial_cmp(y),
        (S::Num(n, raw), S::Str(s)) => Some(num_vs_str(*n, raw, s)),
        (S::Str(s), S::Num(n, raw)) => Some(num_vs_str(*n, raw, s).reverse()),
        (S::Str(x), S::Str(y)) => Some(compare_str(x, y)),
        (S::Bool(x), S::Str(s)) => Some(x.to_string().as_str().cmp(s.as_str())),
        (S::Str(s), S::Bool(x)) => Some(s.as_str().cmp(x.to_string().as_str())),
        (S::Bool(_), S::Num(..)) | (S::Num(..), S::Bool(_)) => None,
    }
}

fn compare(a: &Scalar<'_>, op: CompareOp, b: &Scalar<'_>) -> bool {
    match op {
        CompareOp::Eq => scalar_eq(a, b),
        CompareOp::Ne => !matches!(a, Scalar::Null) && !matches!(b, Scalar::Null) && !scalar_eq(a, b),
        CompareOp::Gt => scalar_cmp(a, b) == Some(Ordering::Greater),
        CompareOp::Ge => matches!(scalar_cmp(a, b), Some(Ordering::Greater | Ordering::Equal)),
        CompareOp::Lt => scalar_cmp(a, b) == Some(Ordering::Less),
        CompareOp::Le => matches!(scalar_cmp(a, b), Some(Ordering::Less | Ordering::Equal)),
    }
}

/// The texts a scalar offers to the string functions.
fn texts(s: &Scalar<'_>) -> Vec<String> {
    match s {
        Scalar::Str(x) => vec![x.clone()],
        Scalar::Num(_, raw) => vec![raw.clone()],
        Scalar::Bool(b) => vec![b.to_string()],
        Scalar::Code(k, n) => {
            let mut v = vec![(*k).to_owned()];
            v.extend(n.map(str::to_owned));
            v
        }
        Scalar::Null | Scalar::Other => Vec::new(),
    }
}

fn call(func: Func, a: &Scalar<'_>, b: &Scalar<'_>) -> bool {
    let needles = texts(b);
    texts(a).iter().any(|hay| {
        needles.iter().any(|needle| match func {
            Func::Contains => hay.contains(needle.as_str()),
            Func::StartsWith => hay.starts_with(needle.as_str()),
            Func::EndsWith => hay.ends_with(needle.as_str()),
        })
    })
}

impl Expr {
    /// Whether `doc` (a Noark 5 JSON object) satisfies this filter.
    pub fn matches(&self, doc: &Value) -> bool {
        match self {
            Expr::And(a, b) => a.matches(doc) && b.matches(doc),
            Expr::Or(a, b) => a.matches(doc) || b.matches(doc),
            Expr::Not(a) => !a.matches(doc),
            Expr::Compare(l, op, r) => {
                // A literal `null` on either side is a null test.
                let null_test = match (l, r) {
                    (Operand::Literal(Literal::Null), other) | (other, Operand::Literal(Literal::Null)) => Some(other),
                    _ => None,
                };
                if let Some(other) = null_test {
                    let values = operand_values(doc, other);
                    return match op {
                        CompareOp::Eq => values.iter().any(|v| matches!(v, Scalar::Null)),
                        CompareOp::Ne => values.iter().any(|v| !matches!(v, Scalar::Null)),
                        _ => false,
                    };
                }
                let ls = operand_values(doc, l);
                let rs = operand_values(doc, r);
                ls.iter().any(|a| rs.iter().any(|b| compare(a, *op, b)))
            }
            Expr::Call(func, l, r) => {
                let ls = operand_values(doc, l);
                let rs = operand_values(doc, r);
                ls.iter().any(|a| rs.iter().any(|b| call(*func, a, b)))
            }
        }
    }

    /// Every property path the filter mentions, in order of first appearance, without repeats.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths(&self, out: &mut Vec<Path>) {
        let mut add = |o: &Operand| {
            if let Operand::Path(p, _) = o
                && !out.contains(p)
            {
                out.push(p.clone());
            }
        };
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect_paths(out);
                b.collect_paths(out);
            }
            Expr::Not(a) => a.collect_paths(out),
            Expr::Compare(l, _, r) | Expr::Call(_, l, r) => {
                add(l);
                add(r);
            }
        }
    }
}

fn kind_rank(s: &Scalar<'_>) -> u8 {
    match s {
        Scalar::Null | Scalar::Other => 0,
        Scalar::Bool(_) => 1,
        Scalar::Num(..) => 2,
        Scalar::Str(_) | Scalar::Code(..) => 3,
    }
}

fn sort_key<'a>(doc: &'a Value, path: &Path) -> Scalar<'a> {
    let first = resolve(doc, path).into_iter().next().flatten();
    match scalar(first, None) {
        Scalar::Other => Scalar::Null,
        s => s,
    }
}

fn total_cmp(a: &Scalar<'_>, b: &Scalar<'_>) -> Ordering {
    let (ra, rb) = (kind_rank(a), kind_rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    scalar_cmp(a, b).unwrap_or(Ordering::Equal)
}

impl Query {
    /// Orders two documents by `$orderby` (equal when there is none).
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        for (path, dir) in &self.orderby {
            let ord = total_cmp(&sort_key(a, path), &sort_key(b, path));
            let ord = match dir {
                Direction::Asc => ord,
                Direction::Desc => ord.reverse(),
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }

    /// Whether `doc` matches `$search` (true when there is none): the phrase occurs,
    /// case-insensitively, in some string value of the document outside `_links`.
    pub fn search_matches(&self, doc: &Value) -> bool {
        match &self.search {
            None => true,
            Some(s) if s.is_empty() => true,
            Some(s) => contains_text(doc, &s.to_lowercase()),
        }
    }

    /// Whether `doc` passes the filter (true when there is none) and the search.
    pub fn matches(&self, doc: &Value) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(doc)) && self.search_matches(doc)
    }
}

fn contains_text(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.to_lowercase().contains(needle),
        Value::Array(items) => items.iter().any(|i| contains_text(i, needle)),
        Value::Object(o) => o.iter().any(|(k, v)| k != "_links" && contains_text(v, needle)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn docs() -> Vec<Value> {
        vec![
            json!({
                "systemID": "d1",
                "tittel": "Søknad om barnehageplass",
                "journalposttype": {"kode": "I", "kodenavn": "Inngående dokument"},
                "dokumentstatus": {"kode": "F", "kodenavn": "Dokumentet er ferdigstilt"},
                "part": [{"navn": "Kari"}, {"navn": "Ola"}],
                "opprettetDato": "2024-01-01T00:30:00+01:00",
                "saksdato": "2024-01-15",
                "antall": 3,
                "skjermet": false,
                "virksomhetsspesifikkeMetadata": {"ppt-v1:skolekontakt": "Per Hansen"},
                "_links": {"self": {"href": "https://n5.example.com/api/klage"}}
            }),
            json!({
                "systemID": "d2",
                "tittel": "Klage på vedtak",
                "journalposttype": {"kode": "U", "kodenavn": "Utgående dokument"},
                "dokumentstatus": {"kode": "B", "kodenavn": "Dokumentet er under redigering"},
                "part": [{"navn": "Per"}],
                "noekkelord": ["klage", "vedtak"],
                "opprettetDato": "2024-01-01T00:00:00Z",
                "saksdato": "2024-02-01",
                "antall": 10,
                "skjermet": true
            }),
            json!({
                "systemID": "d3",
                "tittel": "R&D-avtale",
                "journalposttype": {"kode": "N", "kodenavn": "Organinternt dokument for oppfølging"},
                "opprettetDato": "2023-06-01T12:00:00-02:00",
                "antall": 2.5
            }),
            json!({
                "systemID": "d4",
                "tittel": "O'Brien sin søknad",
                "journalposttype": {"kode": "I", "kodenavn": "Inngående dokument"},
                "part": [],
                "opprettetDato": "2024-03-01T08:00:00+02:00"
            }),
            json!({
                "systemID": "d5",
                "tittel": "a+b kalkyle",
                "journalposttype": {"kode": "X", "kodenavn": "Saksframlegg"},
                "opprettetDato": "2024-01-01T00:00:00+00:00"
            }),
            json!({
                "systemID": "d6",
                "journalposttype": {"kode": "X", "kodenavn": "Saksframlegg"}
            }),
            json!({
                "systemID": "d7",
                "tittel": null,
                "nasjonalidentifikator": [{"foedselsnummer": "20914695016"}]
            }),
            json!({
                "systemID": "d8",
                "tittel": "SØKNAD OM SFO",
                "dokumentstatus": {"kode": "F", "kodenavn": "Dokumentet er ferdigstilt"},
                "virksomhetsspesifikkeMetadata": {
                    "ppt-v1:skolekontakt": "Kari",
                    "vnd-nikita-v1:eksempelfelt": "en verdi her"
                }
            }),
        ]
    }

    fn ids_of(q: &Query) -> Vec<String> {
        docs().iter().filter(|d| q.matches(d)).map(|d| d["systemID"].as_str().unwrap().to_owned()).collect()
    }

    /// The systemIDs the filter selects, in document order.
    fn sel(raw: &str) -> Vec<String> {
        let q = parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
        ids_of(&q)
    }

    fn filter(f: &str) -> Vec<String> {
        sel(&format!("$filter={f}"))
    }

    fn unsupported(raw: &str) -> String {
        match parse(raw) {
            Err(ODataError::Unsupported(s)) => s,
            other => panic!("{raw}: expected Unsupported, got {other:?}"),
        }
    }

    fn is_syntax(raw: &str) -> bool {
        matches!(parse(raw), Err(ODataError::Syntax { .. }))
    }

    #[test]
    fn equality_and_quote_styles() {
        assert_eq!(filter("tittel eq 'Klage på vedtak'"), ["d2"]);
        assert_eq!(filter("tittel eq \"Klage på vedtak\""), ["d2"]);
        assert_eq!(filter("tittel eq ‘Klage på vedtak’"), ["d2"]);
        assert_eq!(filter("tittel eq 'O''Brien sin søknad'"), ["d4"]);
        assert_eq!(filter("tittel eq \"O'Brien sin søknad\""), ["d4"]);
        assert_eq!(filter("tittel eq \"say \"\"hi\"\"\""), Vec::<String>::new());
        // eq is exact and case-sensitive
        assert_eq!(filter("tittel eq 'klage på vedtak'"), Vec::<String>::new());
        assert_eq!(filter("tittel eq 'nothing like this'"), Vec::<String>::new());
    }

    #[test]
    fn mixed_case_operators_and_functions() {
        assert_eq!(filter("tittel EQ 'Klage på vedtak'"), ["d2"]);
        assert_eq!(filter("tittel Eq 'Klage på vedtak' OR antall Gt 5"), ["d2"]);
        // contains & co. are case-sensitive: d1 has «Søknad», d8 «SØKNAD»
        assert_eq!(filter("Contains(tittel,'søknad')"), ["d4"]);
        assert_eq!(filter("STARTSWITH(tittel, 'Klage')"), ["d2"]);
        assert_eq!(filter("endswith(tittel,'kalkyle')"), ["d5"]);
        assert_eq!(filter("NOT contains(tittel,'a') aNd tittel ne null"), ["d8"]);
        assert_eq!(filter("contains(tittel,'Klage') eq true"), ["d2"]);
        assert_eq!(filter("contains(tittel,'a') eq false"), ["d6", "d7", "d8"]);
        // tolower gives a case-insensitive match
        assert_eq!(filter("contains(tolower(tittel),'søknad')"), ["d1", "d4", "d8"]);
        assert_eq!(filter("toupper(tittel) eq 'SØKNAD OM SFO'"), ["d8"]);
        // property names are case-sensitive
        assert_eq!(filter("Tittel eq 'Klage på vedtak'"), Vec::<String>::new());
    }

    #[test]
    fn percent_encoding_plus_and_ampersand() {
        assert_eq!(sel("%24filter%3Dtittel%20eq%20%27Klage%20p%C3%A5%20vedtak%27%26%24top%3D2"), ["d2"]);
        let q = parse("%24filter%3Dtittel%20eq%20%27x%27%26%24top%3D2").unwrap();
        assert_eq!(q.top, Some(2));
        // `+` outside a literal is a space, inside it is a plus
        assert_eq!(sel("$filter=tittel+eq+'a+b kalkyle'"), ["d5"]);
        assert_eq!(sel("$filter=tittel%20eq%20%27a%2Bb%20kalkyle%27"), ["d5"]);
        assert_eq!(sel("$filter=contains(tittel,'a+b')"), ["d5"]);
        // `&` inside a literal does not split, in plain and encoded form
        assert_eq!(sel("$filter=tittel eq 'R&D-avtale'&$top=1"), ["d3"]);
        let q = parse("%24filter%3Dtittel%20eq%20%27R%26D-avtale%27%26%24top%3D1").unwrap();
        assert_eq!(q.top, Some(1));
        assert_eq!(ids_of(&q), ["d3"]);
        // an apostrophe inside a word does not start a literal
        let q = parse("$search=O'Brien&$top=3").unwrap();
        assert_eq!(q.search.as_deref(), Some("O'Brien"));
        assert_eq!(q.top, Some(3));
        // invalid UTF-8
        assert_eq!(parse("$filter=%FF"), Err(ODataError::Encoding));
    }

    #[test]
    fn null_comparisons() {
        assert_eq!(filter("tittel eq null"), ["d6", "d7"]);
        assert_eq!(filter("tittel ne null"), ["d1", "d2", "d3", "d4", "d5", "d8"]);
        assert_eq!(filter("tittel gt null"), Vec::<String>::new());
        assert_eq!(filter("contains(tittel, 'a') and tittel eq null"), Vec::<String>::new());
        assert_eq!(filter("finnesikke eq null"), ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"]);
        // an empty array counts as null
        assert_eq!(filter("part/navn eq null and journalposttype eq 'I'"), ["d4"]);
        // ordering comparisons with a missing value are false
        assert_eq!(filter("antall lt 100"), ["d1", "d2", "d3"]);
        assert_eq!(filter("antall ne 3"), ["d2", "d3"]);
        assert_eq!(filter("null eq tittel"), ["d6", "d7"]);
        assert_eq!(filter("tittel lt null or tittel ge null"), Vec::<String>::new());
    }

    #[test]
    fn arrays_are_any() {
        assert_eq!(filter("part/navn eq 'Ola'"), ["d1"]);
        assert_eq!(filter("part/navn eq 'Per'"), ["d2"]);
        assert_eq!(filter("noekkelord eq 'vedtak'"), ["d2"]);
        assert_eq!(filter("nasjonalidentifikator/foedselsnummer eq '20914695016'"), ["d7"]);
        assert_eq!(filter("part/navn ne 'Ola'"), ["d1", "d2"]);
        assert_eq!(filter("not (part/navn eq 'Ola') and part ne null"), ["d2"]);
    }

    #[test]
    fn code_values() {
        assert_eq!(filter("dokumentstatus/kode eq 'F'"), ["d1", "d8"]);
        assert_eq!(filter("journalposttype eq 'I'"), ["d1", "d4"]);
        assert_eq!(filter("journalposttype eq 'Inngående dokument'"), ["d1", "d4"]);
        assert_eq!(filter("journalposttype/kodenavn eq 'Saksframlegg'"), ["d5", "d6"]);
        assert_eq!(filter("journalposttype/kode eq 'Inngående dokument'"), Vec::<String>::new());
        // ne is false where there is no value at all (d7, d8)
        assert_eq!(filter("journalposttype ne 'I'"), ["d2", "d3", "d5", "d6"]);
        assert_eq!(filter("startswith(journalposttype, 'Utg')"), ["d2"]);
    }

    #[test]
    fn virksomhetsspesifikke_metadata() {
        assert_eq!(filter("ppt-v1:skolekontakt eq 'Kari'"), ["d8"]);
        assert_eq!(filter("startswith(ppt-v1:skolekontakt,'Per')"), ["d1"]);
        assert_eq!(filter("contains(vnd-nikita-v1:eksempelfelt, ‘verdi’)"), ["d8"]);
        let q = parse("$filter=ppt-v1:skolekontakt eq 'Kari'").unwrap();
        assert_eq!(q.filter.unwrap().paths(), [Path(vec!["ppt-v1:skolekontakt".into()])]);
    }

    #[test]
    fn dates_compare_chronologically() {
        // d1 is 2023-12-31T23:30Z although its text sorts after d2's
        assert_eq!(filter("opprettetDato lt 2024-01-01T00:00:00Z"), ["d1", "d3"]);
        assert_eq!(filter("opprettetDato gt 2023-12-31T23:45:00Z"), ["d2", "d4", "d5"]);
        assert_eq!(filter("opprettetDato eq 2024-01-01T01:00:00+01:00"), ["d2", "d5"]);
        assert_eq!(filter("opprettetDato eq '2024-01-01T01:00:00+01:00'"), ["d2", "d5"]);
        // percent-encoded `+` in a bare offset, and a `+` offset written bare
        assert_eq!(filter("opprettetDato eq 2024-01-01T01:00:00%2B01:00"), ["d2", "d5"]);
        // dates against dates, and a date against a date-time by its own calendar day
        assert_eq!(filter("saksdato gt 2024-01-20"), ["d2"]);
        assert_eq!(filter("saksdato ge 2024-01-15 and saksdato le 2024-01-15"), ["d1"]);
        assert_eq!(filter("opprettetDato eq 2024-01-01"), ["d1", "d2", "d5"]);
        assert_eq!(filter("opprettetDato lt 2024-01-01"), ["d3"]);
    }

    #[test]
    fn numbers_and_booleans() {
        assert_eq!(filter("antall gt 2"), ["d1", "d2", "d3"]);
        assert_eq!(filter("antall le 2.5"), ["d3"]);
        assert_eq!(filter("antall eq 10"), ["d2"]);
        assert_eq!(filter("antall gt -1 and antall lt 3"), ["d3"]);
        assert_eq!(sel("$filter=antall+gt+-1+and+antall+lt++3"), ["d3"]);
        assert_eq!(filter("antall ge +10"), ["d2"]);
        assert_eq!(filter("skjermet eq true"), ["d2"]);
        assert_eq!(filter("skjermet eq FALSE"), ["d1"]);
    }

    #[test]
    fn not_and_precedence() {
        // `a or b and c` is `a or (b and c)`
        assert_eq!(filter("journalposttype eq 'N' or journalposttype eq 'I' and part/navn eq 'Ola'"), ["d1", "d3"]);
        assert_eq!(filter("(journalposttype eq 'N' or journalposttype eq 'I') and part/navn eq 'Ola'"), ["d1"]);
        assert_eq!(filter("not journalposttype eq 'X'"), ["d1", "d2", "d3", "d4", "d7", "d8"]);
        assert_eq!(filter("not (antall gt 2 or tittel eq null)"), ["d4", "d5", "d8"]);
    }

    #[test]
    fn top_skip_orderby_search() {
        let q = parse("$top=2&$skip=3&$orderby=antall desc,tittel&$search='søknad'&x=y").unwrap();
        assert_eq!(q.top, Some(2));
        assert_eq!(q.skip, 3);
        assert_eq!(
            q.orderby,
            [(Path(vec!["antall".into()]), Direction::Desc), (Path(vec!["tittel".into()]), Direction::Asc)]
        );
        assert_eq!(ids_of(&q), ["d1", "d4", "d8"]);
        // search ignores _links
        assert_eq!(sel("$search=klage"), ["d2"]);
        assert_eq!(sel("$search=kari"), ["d1", "d8"]);
        assert_eq!(sel("$search=om+barnehage"), ["d1"]);
        assert_eq!(sel("$search='a+b'"), ["d5"]);
        assert_eq!(sel("$search=%27O%27%27Brien%27"), ["d4"]);

        let q = parse("$orderby=antall DESC").unwrap();
        let mut d = docs();
        d.sort_by(|a, b| q.compare(a, b));
        let order: Vec<_> = d.iter().map(|x| x["systemID"].as_str().unwrap()).collect();
        assert_eq!(order, ["d2", "d1", "d3", "d4", "d5", "d6", "d7", "d8"]);

        let q = parse("$orderby=opprettetDato").unwrap();
        let mut d = docs();
        d.sort_by(|a, b| q.compare(a, b));
        let order: Vec<_> = d.iter().map(|x| x["systemID"].as_str().unwrap()).collect();
        // nulls first, then chronologically
        assert_eq!(order, ["d6", "d7", "d8", "d3", "d1", "d2", "d5", "d4"]);

        let q = parse("$orderby=journalposttype asc,systemID desc").unwrap();
        let mut d = docs();
        d.sort_by(|a, b| q.compare(a, b));
        let order: Vec<_> = d.iter().map(|x| x["systemID"].as_str().unwrap()).collect();
        assert_eq!(order, ["d8", "d7", "d4", "d1", "d3", "d2", "d6", "d5"]);

        assert_eq!(parse("").unwrap(), Query::default());
        for bad in ["$top=-1", "$top=x", "$top=", "$skip=1.5", "$top"] {
            assert!(matches!(parse(bad), Err(ODataError::InvalidValue { .. })), "{bad}");
        }
        assert_eq!(parse("$top=1&$TOP=2"), Err(ODataError::Duplicate("$top".into())));
    }

    #[test]
    fn unsupported_constructs_are_named() {
        assert_eq!(unsupported("$expand=merknad"), "$expand");
        assert_eq!(unsupported("$select=tittel"), "$select");
        assert_eq!(unsupported("$count=true"), "$count");
        assert_eq!(unsupported("$format=json"), "$format");
        assert_eq!(unsupported("$filter=substringof('x',tittel)"), "function 'substringof'");
        assert_eq!(unsupported("$filter=substring(tittel, 3, 4) eq 'test'"), "function 'substring'");
        assert_eq!(unsupported("$filter=year(endretDato) gt 2012"), "function 'year'");
        assert_eq!(unsupported("$filter=merknad/any(m: m/merknadstype/kode eq 'B')"), "lambda operator 'any'");
        assert_eq!(unsupported("$filter=part/ALL(p: p/navn eq 'x')"), "lambda operator 'all'");
        assert_eq!(unsupported("$filter=part/$count gt 1"), "/$count");
        assert_eq!(unsupported("$filter=$it/tittel eq 'x'"), "$it");
        assert_eq!(unsupported("$filter=tittel in ('a','b')"), "operator 'in'");
        assert_eq!(unsupported("$filter=antall add 1 eq 2"), "operator 'add'");
        assert_eq!(unsupported("$filter=antall eq 1 mul 2"), "operator 'mul'");
        assert_eq!(unsupported("$filter=tittel eq duration'P1D'"), "typed literal 'duration'");
        assert_eq!(unsupported("$orderby=tolower(tittel)"), "function 'tolower'");
    }

    #[test]
    fn garbage_is_a_syntax_error() {
        for bad in [
            "$filter=",
            "$filter=tittel",
            "$filter=tittel eq",
            "$filter=tittel eq 'open",
            "$filter=(tittel eq 'x'",
            "$filter=tittel eq 'x')",
            "$filter=tittel eq 'x' and",
            "$filter=eq 'x'",
            "$filter=tittel == 'x'",
            "$filter=tittel eq 12abc",
            "$filter=contains(tittel)",
            "$filter=contains(tittel,'x'",
            "$filter=tittel foo 'x'",
            "$filter=tittel eq 'x' 'y'",
            "$filter=a/ eq 1",
            "$filter=not",
            "$orderby=",
            "$orderby=a desc desc",
            "$orderby=a,,b",
            "$filter=tittel eq %zz",
        ] {
            assert!(is_syntax(bad), "{bad}: {:?}", parse(bad));
        }
        let long = vec!["a eq 1"; 1000].join(" and ");
        assert!(is_syntax(&format!("$filter={long}")));
        let deep = format!("$filter={}a eq 1{}", "(".repeat(500), ")".repeat(500));
        for bad in [deep.as_str(), &format!("$filter={}a eq 1", "not ".repeat(500))] {
            assert!(is_syntax(bad), "{bad}: {:?}", parse(bad));
        }
        match parse("$filter=tittel eq 'x' ?") {
            Err(ODataError::Syntax { at, .. }) => assert_eq!(at, 14),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn paths_are_listed_once() {
        let q = parse("$filter=part/navn eq 'a' or (part/navn eq 'b' and contains(tittel, 'c'))").unwrap();
        assert_eq!(q.filter.unwrap().paths(), [Path(vec!["part".into(), "navn".into()]), Path(vec!["tittel".into()])]);
    }

    #[test]
    fn no_panic_on_truncations_and_mutations() {
        let valid = [
            "%24filter%3Dtittel%20eq%20%27R%26D%27%26%24top%3D2",
            "$filter=not (part/navn eq 'O''la' or contains(tolower(tittel),‘x’)) and antall ge -2.5e3&$orderby=a desc,b&$skip=1",
            "$filter=opprettetDato gt 2024-01-01T00:00:00+01:00 and overklasse eq 7b3989b0-53d7-11e9-bd4e-17d6c4d53856",
            "$filter=ppt-v1:skolekontakt eq \"K\"\"ari\" or startswith(journalposttype,'I') eq false&$search='søk'",
            "$filter=datetime'2024-01-01' lt saksdato and x/any(y: y eq 1)",
        ];
        let extra = ['\'', '"', '(', ')', '%', '&', '$', '/', '+', '-', ',', ' ', 'é', '‘', '’', '2', 'T', ':'];
        let all = docs();
        let check = |s: &str| {
            if let Ok(q) = parse(s) {
                for d in &all {
                    let _ = q.matches(d);
                    let _ = q.compare(d, &all[0]);
                }
                if let Some(f) = &q.filter {
                    let _ = f.paths();
                }
            }
        };
        for v in valid {
            assert!(parse(v).is_ok() || matches!(parse(v), Err(ODataError::Unsupported(_))));
            let idx: Vec<usize> = v.char_indices().map(|(i, _)| i).chain([v.len()]).collect();
            for &i in &idx {
                check(&v[..i]);
                check(&v[i..]);
                for c in extra {
                    let mut m = v[..i].to_owned();
                    m.push(c);
                    m.push_str(&v[i..]);
                    check(&m);
                }
            }
        }
    }
}
