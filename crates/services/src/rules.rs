//! Eligibility and decision rules, and the conditions of conditional fields, as expressions
//! evaluated by [`evalexpr`] (no hand-written parser). An expression reads fields by their
//! names (`inntekt`) and facts by theirs (`person.age`, `child.lives_here`); it may compare,
//! combine with `&&`, `||`, `!`, and do arithmetic. Dates are ISO strings, which compare in
//! date order. Assignments and functions other than a few harmless ones are refused at load.
//!
//! [`evaluate`] runs every rule: a rejection outweighs a referral to a caseworker, which
//! outweighs a grant; when no rule fires, or a rule cannot be evaluated (a fact is missing), a
//! caseworker decides. The decision mode then says whether the result stands.

use std::collections::BTreeSet;

use evalexpr::{ContextWithMutableVariables, HashMapContext, Node};
use kernel::Language;
use serde::{Deserialize, Serialize};

use crate::definition::{DecisionMode, RuleOutcome, Service, Text};
use crate::value::Answers;

/// The functions an expression may call.
const ALLOWED_FUNCTIONS: [&str; 5] = ["min", "max", "contains", "len", "if"];

/// A parsed expression whose variables are all known.
#[derive(Debug, Clone)]
pub struct Expression {
    node: Node,
}

impl Expression {
    /// Parses `text` and checks that it reads only `variables`, assigns nothing and calls
    /// only harmless functions. The error is a sentence for the definition's author.
    pub fn parse(text: &str, variables: &BTreeSet<String>) -> Result<Expression, String> {
        let node = evalexpr::build_operator_tree(text).map_err(|error| format!("not a valid expression: {error}"))?;
        let mut unknown: Vec<&str> =
            node.iter_variable_identifiers().filter(|name| !variables.contains(*name)).collect();
        unknown.dedup();
        if let Some(name) = unknown.first() {
            return Err(format!("unknown variable {name:?} (not a field of this form or a known fact)"));
        }
        if node.iter_write_variable_identifiers().next().is_some() || text.contains(';') {
            return Err("an expression may not assign or chain statements".to_owned());
        }
        if let Some(function) = node.iter_function_identifiers().find(|f| !ALLOWED_FUNCTIONS.contains(f)) {
            return Err(format!("function {function:?} is not allowed (allowed: {})", ALLOWED_FUNCTIONS.join(", ")));
        }
        // The parser accepts some incomplete expressions (`alder >=`) and leaves the missing
        // operand to evaluation; a dry run with every variable empty, then false, finds them.
        for placeholder in [evalexpr::Value::Empty, evalexpr::Value::Boolean(false)] {
            let mut context = HashMapContext::new();
            for name in variables {
                let _ = context.set_value(name.clone(), placeholder.clone());
            }
            if let Err(
                error @ (evalexpr::EvalexprError::WrongOperatorArgumentAmount { .. }
                | evalexpr::EvalexprError::WrongFunctionArgumentAmount { .. }
                | evalexpr::EvalexprError::AppendedToLeafNode
                | evalexpr::EvalexprError::PrecedenceViolation),
            ) = node.eval_with_context(&context)
            {
                return Err(format!("not a complete expression: {error}"));
            }
        }
        Ok(Expression { node })
    }

    /// Evaluates the expression as a condition; `None` when it cannot be (a missing value, a
    /// type mismatch), which callers treat as "not known".
    pub fn holds(&self, context: &HashMapContext) -> Option<bool> {
        self.node.eval_boolean_with_context(context).ok()
    }
}

/// The variables of an evaluation: every field and fact of the service, empty where not
/// answered or not known, then the facts and the answers.
pub fn context(service: &Service, facts: &Answers, answers: &Answers) -> HashMapContext {
    // A map context refuses to change a variable's type, so each name is set once: answers
    // over facts, and empty for the rest.
    let mut context = HashMapContext::new();
    let mut values: std::collections::BTreeMap<&str, evalexpr::Value> = std::collections::BTreeMap::new();
    for (name, value) in facts.iter().chain(answers.iter()) {
        values.insert(name.as_str(), value.to_expression());
    }
    for name in service.variables() {
        let value = values.remove(name.as_str()).unwrap_or(evalexpr::Value::Empty);
        let _ = context.set_value(name, value);
    }
    for (name, value) in values {
        let _ = context.set_value(name.to_owned(), value);
    }
    context
}

/// The result of the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Granted.
    Grant,
    /// Rejected.
    Reject,
    /// A caseworker decides.
    Manual,
}

/// A rule that fired, with its explanation filled in, in each language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredRule {
    /// The rule's id.
    pub id: String,
    /// What it concluded.
    pub outcome: RuleOutcome,
    /// The explanation, with the values filled in.
    pub explanation: Text,
}

/// What the rules decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The rules' result.
    pub result: Decision,
    /// Whether a caseworker must review it before it is sent: always for a manual result, and
    /// for a rejection under [`DecisionMode::AutomaticWithReviewOfRejections`].
    pub needs_review: bool,
    /// The rules that fired, in definition order.
    pub fired: Vec<FiredRule>,
    /// Rules that could not be evaluated (a missing fact): their ids.
    pub undecidable: Vec<String>,
}

/// Runs the service's rules on the facts and answers.
pub fn evaluate(service: &Service, facts: &Answers, answers: &Answers) -> Outcome {
    let variables = service.variables();
    let context = context(service, facts, answers);
    let mut fired = Vec::new();
    let mut undecidable = Vec::new();
    for rule in &service.rules {
        // Definitions are checked at load, so a parse failure here means a definition that
        // bypassed the catalogue; treat it as undecidable rather than panic.
        let holds = Expression::parse(&rule.when, &variables).ok().and_then(|expression| expression.holds(&context));
        match holds {
            Some(true) => fired.push(FiredRule {
                id: rule.id.clone(),
                outcome: rule.outcome,
                explanation: Text {
                    nb: interpolate(&rule.explanation.nb, facts, answers, Language::Bokmal),
                    nn: interpolate(&rule.explanation.nn, facts, answers, Language::Nynorsk),
                    en: interpolate(&rule.explanation.en, facts, answers, Language::English),
                },
            }),
            Some(false) => {}
            None => undecidable.push(rule.id.clone()),
        }
    }
    let has = |outcome| fired.iter().any(|rule: &FiredRule| rule.outcome == outcome);
    let mut result = if has(RuleOutcome::Reject) {
        Decision::Reject
    } else if has(RuleOutcome::Manual) || !undecidable.is_empty() || !has(RuleOutcome::Grant) {
        Decision::Manual
    } else {
        Decision::Grant
    };
    if service.decision == DecisionMode::Manual {
        result = Decision::Manual;
    }
    let needs_review = matches!(
        (service.decision, result),
        (_, Decision::Manual) | (DecisionMode::AutomaticWithReviewOfRejections, Decision::Reject)
    );
    Outcome { result, needs_review, fired, undecidable }
}

/// The `{name}` placeholders of a text.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        names.push(&after[..end]);
        rest = &after[end + 1..];
    }
    names
}

/// Fills `{name}` placeholders with the value of the answer or fact `name`, as the person
/// reads it; an unknown value becomes an empty string.
pub fn interpolate(text: &str, facts: &Answers, answers: &Answers, language: Language) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        if let Some(value) = answers.get(name).or_else(|| facts.get(name)) {
            out.push_str(&value.display(language));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a field with this condition is shown, given the answers so far. A condition that
/// cannot be evaluated (it reads an unanswered field) hides the field.
pub fn shown(service: &Service, condition: Option<&str>, facts: &Answers, answers: &Answers) -> bool {
    let Some(condition) = condition else { return true };
    let Ok(expression) = Expression::parse(condition, &service.variables()) else { return false };
    expression.holds(&context(service, facts, answers)).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn unknown_variables_assignments_and_functions_are_refused() {
        let known: BTreeSet<String> = ["alder".to_owned(), "person.age".to_owned()].into();
        assert!(Expression::parse("alder >= 6 && person.age > 18", &known).is_ok());
        let error = Expression::parse("aldr >= 6", &known).expect_err("unknown");
        assert!(error.contains("\"aldr\""), "{error}");
        assert!(Expression::parse("alder = 6", &known).is_err());
        assert!(Expression::parse("str::regex_matches(alder, \"x\")", &known).is_err());
        assert!(Expression::parse("alder >=", &known).is_err());
    }

    #[test]
    fn placeholders_are_found_and_filled() {
        assert_eq!(placeholders("Du er {person.age} år og bor i {x}."), vec!["person.age", "x"]);
        let facts: Answers = [("person.age".to_owned(), Value::Integer(71))].into();
        let text = interpolate("Du er {person.age} år{", &facts, &Answers::new(), Language::Bokmal);
        assert_eq!(text, "Du er 71 år{");
    }
}
