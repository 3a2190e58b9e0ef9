//! Regexes as rules use them, with a shortcut for the shape Sigma rules favour.
//!
//! A pattern such as `.+:assumed-role/aws:.+` asks whether a value holds a fixed text with
//! something on either side. The regex engine answers it by scanning the whole value (about
//! 80 ns for an ARN); a substring search answers it in a few. Such patterns are recognised when
//! compiled and answered by the search, with exactly the regex's meaning.

use regex::Regex;

/// A compiled regex.
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
    inner: Option<InnerLiteral>,
}

/// `LITERAL` of a pattern `A LITERAL B`, where `A` and `B` are each `.+`, `.*` or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InnerLiteral {
    literal: String,
    /// `.+` before: some character other than a newline precedes the literal.
    before: bool,
    /// `.+` after: some character other than a newline follows it.
    after: bool,
}

impl Pattern {
    /// A regex built with the default flags (case-sensitive, `.` not matching a newline).
    pub fn new(regex: Regex) -> Self {
        let inner = InnerLiteral::parse(regex.as_str());
        Self { regex, inner }
    }

    /// A regex built with other flags: always run by the regex engine.
    pub fn opaque(regex: Regex) -> Self {
        Self { regex, inner: None }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        match &self.inner {
            Some(inner) => inner.is_match(text),
            None => self.regex.is_match(text),
        }
    }
}

impl InnerLiteral {
    fn parse(pattern: &str) -> Option<Self> {
        let (before, rest) = match pattern.get(..2) {
            Some(".+") => (true, &pattern[2..]),
            Some(".*") => (false, &pattern[2..]),
            _ => (false, pattern),
        };
        let (after, middle) = match rest.len().checked_sub(2).and_then(|i| rest.get(i..).map(|end| (i, end))) {
            Some((i, ".+")) => (true, &rest[..i]),
            Some((i, ".*")) => (false, &rest[..i]),
            _ => (false, rest),
        };
        // The literal: ordinary characters, or punctuation escaped with a backslash. Anything
        // else (a class, a group, a repetition, an anchor, a flag) keeps the regex engine. An
        // escaped `.` or `*` left by the cut above ends in a lone backslash and is refused.
        let mut literal = String::with_capacity(middle.len());
        let mut chars = middle.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e) if e.is_ascii_punctuation() => literal.push(e),
                    _ => return None,
                },
                '.' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => return None,
                '\n' => return None,
                c => literal.push(c),
            }
        }
        (!literal.is_empty()).then_some(Self { literal, before, after })
    }

    fn is_match(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        let n = self.literal.len();
        let mut from = 0;
        // Every occurrence, overlapping ones included: the first may lack its neighbours.
        while let Some(found) = text.get(from..).and_then(|rest| rest.find(self.literal.as_str())) {
            let at = from + found;
            let before_ok = !self.before || (at > 0 && bytes[at - 1] != b'\n');
            let after_ok = !self.after || bytes.get(at + n).is_some_and(|b| *b != b'\n');
            if before_ok && after_ok {
                return true;
            }
            from = at + text[at..].chars().next().map_or(1, char::len_utf8);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner(pattern: &str) -> Option<InnerLiteral> {
        InnerLiteral::parse(pattern)
    }

    #[test]
    fn only_a_literal_between_dot_repetitions_takes_the_shortcut() {
        let lit = |literal: &str, before, after| Some(InnerLiteral { literal: literal.into(), before, after });
        assert_eq!(inner(".+:assumed-role/aws:.+"), lit(":assumed-role/aws:", true, true));
        assert_eq!(inner(".*abc"), lit("abc", false, false));
        assert_eq!(inner(r"a\.b\-c.+"), lit("a.b-c", false, true));
        assert_eq!(inner(r"a\\.+"), lit("a\\", false, true));
        for other in [r"a\.+", ".+a.+?", ".*?a", "^a.+", "a$", "(?i)a", "a|b", "[ab]", "a{2}", ".+", r"\d+", ""] {
            assert_eq!(inner(other), None, "{other}");
        }
    }

    /// Every string of up to six characters over an alphabet with the literal's pieces, a
    /// newline and a multi-byte character: the shortcut answers as the regex does.
    #[test]
    fn the_shortcut_answers_as_the_regex_does() {
        let alphabet = ['a', 'b', ':', '\n', 'é'];
        let mut texts = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..6 {
            last = last.iter().flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}"))).collect();
            texts.extend(last.iter().cloned());
        }
        let patterns = [".+a:.+", ".*a:.*", ".+aa", "aa.+", "a:", ".+é.+", ".*b\\:a.+", ".+aa.+"];
        for p in patterns {
            let regex = Regex::new(p).expect("valid");
            let pattern = Pattern::new(regex.clone());
            assert!(pattern.inner.is_some(), "{p} takes the shortcut");
            for t in &texts {
                assert_eq!(pattern.is_match(t), regex.is_match(t), "{p:?} on {t:?}");
            }
        }
        let opaque = Pattern::opaque(Regex::new("(?i).+A:.+").expect("valid"));
        assert!(opaque.is_match("xa:y") && opaque.inner.is_none());
    }
}
