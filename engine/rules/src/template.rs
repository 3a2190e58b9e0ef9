//! Alert summary templates: `{field.path}` placeholders filled from the triggering event.

use crate::error::{RuleError, at};
use nhiwatch_core::{Event, FieldPath};
use serde_saphyr::Location;

/// A compiled summary template.
#[derive(Debug, Clone, Default)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Field(FieldPath),
}

impl Template {
    /// Compiles `text`; `{{` and `}}` write literal braces.
    pub fn compile(text: &str, loc: Location) -> Result<Self, RuleError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => {
                                return Err(at(loc, format!("summary: unclosed '{{' in '{text}'")));
                            }
                        }
                    }
                    let path = FieldPath::parse(name.trim()).map_err(|e| at(loc, format!("summary: {e}")))?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(path));
                }
                '}' => return Err(at(loc, format!("summary: unmatched '}}' in '{text}'"))),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self { parts })
    }

    /// True when the template's fixed text names a Sigma rule's author (DRL 1.1 attribution).
    pub fn render_is_attributed(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Text(t) if t.contains("Sigma rule by ")))
    }

    /// True when the template has no text at all.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Fills the template from `event`; absent fields read `(none)`, several values are joined.
    pub fn render(&self, event: &Event) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(path) => {
                    let mut values: Vec<String> = Vec::new();
                    event.visit_field(path, &mut |v| {
                        let text = v.to_text();
                        if !values.contains(&text) {
                            values.push(text);
                        }
                        values.len() >= 5
                    });
                    if values.is_empty() {
                        out.push_str("(none)");
                    } else {
                        out.push_str(&values.join(", "));
                    }
                }
            }
        }
        out
    }
}
