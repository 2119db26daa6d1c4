//! GitHub Actions expressions, the part of them deploy.yml uses, so that the rehearsal evaluates
//! the workflow's own `if:` and `env:` rather than a copy of them in Rust: contexts as one JSON
//! object (`steps`, `matrix`, `inputs`, `needs`, `secrets`, `vars`, `github`, ...), literals,
//! `.` and `[...]` access, `! == != && ||` and parentheses, `always()`, `success()`,
//! `failure()`, `cancelled()` and `fromJSON()`. Semantics as GitHub documents them: `&&` and
//! `||` yield an operand, a missing property is null, strings compare without case, and an
//! `if:` without a status function means `success() && (...)`.

use serde_json::Value;

/// What an expression sees: the contexts, and whether an earlier step of the job failed.
pub struct Contexts {
    pub values: Value,
    pub failed: bool,
}

impl Contexts {
    /// Evaluate one expression (without `${{ }}`).
    #[track_caller]
    pub fn eval(&self, expr: &str) -> Value {
        let mut parser = Parser {
            tokens: tokenize(expr),
            at: 0,
            contexts: self,
        };
        let value = parser.or();
        assert!(
            parser.at == parser.tokens.len(),
            "unparsed rest of `{expr}`: {:?}",
            &parser.tokens[parser.at..]
        );
        value
    }

    /// A string with `${{ ... }}` parts, each replaced by its value as GitHub prints it.
    #[track_caller]
    pub fn interpolate(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("an unclosed `${{`") + start;
            out.push_str(&to_string(&self.eval(&rest[start + 3..end])));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Whether a step (or job) with this `if:` runs.
    #[track_caller]
    pub fn runs(&self, condition: Option<&str>) -> bool {
        let condition = condition.unwrap_or("success()").trim();
        let condition = condition
            .strip_prefix("${{")
            .and_then(|c| c.strip_suffix("}}"))
            .unwrap_or(condition);
        let status = ["always()", "success()", "failure()", "cancelled()"]
            .iter()
            .any(|f| condition.contains(f));
        if status {
            truthy(&self.eval(condition))
        } else {
            !self.failed && truthy(&self.eval(condition))
        }
    }
}

/// GitHub's truthiness: false, 0, "" and null are false.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A value as `${{ }}` prints it: null as nothing, strings bare, the rest as JSON.
pub fn to_string(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Two-character operators first, so that `!=` is not read as `!`.
const PUNCTUATION: [&str; 11] = ["==", "!=", "&&", "||", "!", "(", ")", ".", "[", "]", ","];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(f64),
    Punct(&'static str),
}

fn tokenize(expr: &str) -> Vec<Token> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                assert!(i < chars.len(), "unterminated string in `{expr}`");
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        s.push('\'');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                s.push(chars[i]);
                i += 1;
            }
            tokens.push(Token::Str(s));
        } else if let Some(p) = PUNCTUATION
            .into_iter()
            .find(|p| chars[i..].starts_with(&p.chars().collect::<Vec<_>>()))
        {
            tokens.push(Token::Punct(p));
            i += p.len();
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push(Token::Num(text.parse().unwrap()));
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || "_-".contains(chars[i])) {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            panic!("unexpected `{c}` in `{expr}`");
        }
    }
    tokens
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    contexts: &'a Contexts,
}

impl Parser<'_> {
    fn eat(&mut self, punct: &'static str) -> bool {
        if self.tokens.get(self.at) == Some(&Token::Punct(punct)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, punct: &'static str) {
        assert!(
            self.eat(punct),
            "expected `{punct}` at {:?}",
            self.tokens.get(self.at)
        );
    }

    fn or(&mut self) -> Value {
        let mut left = self.and();
        while self.eat("||") {
            let right = self.and();
            left = if truthy(&left) { left } else { right };
        }
        left
    }

    fn and(&mut self) -> Value {
        let mut left = self.comparison();
        while self.eat("&&") {
            let right = self.comparison();
            left = if truthy(&left) { right } else { left };
        }
        left
    }

    fn comparison(&mut self) -> Value {
        let left = self.unary();
        if self.eat("==") {
            Value::Bool(equal(&left, &self.unary()))
        } else if self.eat("!=") {
            Value::Bool(!equal(&left, &self.unary()))
        } else {
            left
        }
    }

    fn unary(&mut self) -> Value {
        if self.eat("!") {
            Value::Bool(!truthy(&self.unary()))
        } else {
            self.primary()
        }
    }

    fn primary(&mut self) -> Value {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        let mut value = match token {
            Some(Token::Punct("(")) => {
                let value = self.or();
                self.expect(")");
                value
            }
            Some(Token::Str(s)) => Value::String(s),
            Some(Token::Num(n)) => serde_json::json!(n),
            Some(Token::Ident(name)) if self.eat("(") => {
                let mut args = Vec::new();
                while !self.eat(")") {
                    args.push(self.or());
                    self.eat(",");
                }
                self.call(&name, &args)
            }
            Some(Token::Ident(name)) => match name.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                context => property(&self.contexts.values, context),
            },
            other => panic!("unexpected {other:?}"),
        };
        loop {
            if self.eat(".") {
                match self.tokens.get(self.at).cloned() {
                    Some(Token::Ident(name)) => {
                        self.at += 1;
                        value = property(&value, &name);
                    }
                    other => panic!("expected a property name, found {other:?}"),
                }
            } else if self.eat("[") {
                let key = self.or();
                self.expect("]");
                value = match key {
                    Value::Number(n) => value
                        .get(n.as_f64().unwrap() as usize)
                        .cloned()
                        .unwrap_or(Value::Null),
                    key => property(&value, &to_string(&key)),
                };
            } else {
                return value;
            }
        }
    }

    fn call(&self, name: &str, args: &[Value]) -> Value {
        let failed = self.contexts.failed;
        match (name.to_ascii_lowercase().as_str(), args) {
            ("always", []) => Value::Bool(true),
            ("success", []) => Value::Bool(!failed),
            ("failure", []) => Value::Bool(failed),
            // The rehearsal cancels nothing.
            ("cancelled", []) => Value::Bool(false),
            ("fromjson", [Value::String(s)]) => serde_json::from_str(s).unwrap(),
            _ => panic!("the rehearsal does not evaluate {name}({args:?})"),
        }
    }
}

/// A property, its name matched without case as GitHub does; null when missing.
fn property(value: &Value, name: &str) -> Value {
    let Value::Object(map) = value else {
        return Value::Null;
    };
    map.get(name)
        .or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .cloned()
        .unwrap_or(Value::Null)
}

/// `==`: strings without case; values of different types compared as numbers.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::Null, Value::Null) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
            std::ptr::eq(a, b)
        }
        (a, b) => number(a) == number(b),
    }
}

fn number(value: &Value) -> f64 {
    match value {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) if s.trim().is_empty() => 0.0,
        Value::String(s) => s.trim().parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contexts(failed: bool) -> Contexts {
        Contexts {
            values: json!({
                "steps": {
                    "decide": {"outcome": "success", "outputs": {"deploy": "true", "reason": "new content"}},
                    "open": {"outcome": "skipped", "outputs": {}},
                },
                "inputs": {"force": false, "project": ""},
                "matrix": {"name": "blog"},
                "needs": {"plan": {"result": "success", "outputs": {"matrix": "{\"include\":[{\"name\":\"a\"}]}"}}},
            }),
            failed,
        }
    }

    #[test]
    fn operators_yield_what_github_yields() {
        let c = contexts(false);
        for (expr, value) in [
            ("steps.decide.outputs.deploy == 'true'", json!(true)),
            ("steps.decide.outputs.deploy == 'TRUE'", json!(true)),
            ("steps.decide.outputs.deploy != 'true'", json!(false)),
            ("steps.open.outcome != 'skipped'", json!(false)),
            ("steps.nope.outputs.x", json!(null)),
            ("steps.nope.outputs.x == ''", json!(true)),
            ("inputs.force && '--force' || ''", json!("")),
            ("!inputs.force && '--force' || ''", json!("--force")),
            ("matrix['name']", json!("blog")),
            ("always() && needs.plan.result == 'success'", json!(true)),
            (
                "fromJSON(needs.plan.outputs.matrix).include[0].name",
                json!("a"),
            ),
            ("(false || 'it''s') && 1 == 1.0", json!(true)),
            ("!(failure())", json!(true)),
        ] {
            assert_eq!(c.eval(expr), value, "{expr}");
        }
        assert_eq!(
            c.interpolate("deployed-${{ matrix.name }}-${{ steps.hash.outputs.hash }}"),
            "deployed-blog-"
        );
    }

    #[test]
    fn an_if_without_a_status_function_needs_success() {
        let (ok, failed) = (contexts(false), contexts(true));
        for (condition, when_ok, when_failed) in [
            (None, true, false),
            (Some("steps.decide.outputs.deploy == 'true'"), true, false),
            (
                Some("${{ steps.decide.outputs.deploy == 'true' }}"),
                true,
                false,
            ),
            (Some("always()"), true, true),
            (Some("failure()"), false, true),
            (
                Some("always() && steps.open.outcome != 'skipped'"),
                false,
                false,
            ),
        ] {
            assert_eq!(ok.runs(condition), when_ok, "{condition:?}");
            assert_eq!(failed.runs(condition), when_failed, "{condition:?}");
        }
    }
}
