//! Text for people: user text echoed back into a reply made inert (inside an inline code
//! span, with the backticks that could close the span replaced, so a mention or a link
//! typed by a user stays text; the replies also allow no mentions, this keeps the text
//! readable too), and counts that read as English ("1 bucket", "3 buckets").

/// The longest echo, in characters; longer input is shortened with an ellipsis.
pub(crate) const ECHO_MAX: usize = 100;

/// `text` as an inline code span: `` `text` ``, backticks replaced by `ˋ` (U+02CB),
/// shortened to [`ECHO_MAX`] characters.
pub(crate) fn code(text: &str) -> String {
    let mut safe: String = text
        .chars()
        .map(|c| if c == '`' { 'ˋ' } else { c })
        .filter(|c| !c.is_control())
        .take(ECHO_MAX)
        .collect();
    if text.chars().count() > ECHO_MAX {
        safe.push('…');
    }
    if safe.is_empty() {
        safe.push(' ');
    }
    format!("`{safe}`")
}

/// `n` and `noun`, plural unless `n` is 1: `count(1, "job")` is "1 job", `count(0, "job")`
/// "0 jobs". For the regular nouns replies use (job, bucket, failure, problem, header).
pub(crate) fn count(n: usize, noun: &str) -> String {
    format!("{n} {}", noun_for(n, noun))
}

/// `noun` as it agrees with `n`, without the number: "header" or "headers".
pub(crate) fn noun_for(n: usize, noun: &str) -> String {
    if n == 1 {
        noun.to_owned()
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(count(1, "bucket"), "1 bucket");
        assert_eq!(count(0, "bucket"), "0 buckets");
        assert_eq!(count(4, "row warning"), "4 row warnings");
        assert_eq!(noun_for(2, "header"), "headers");
    }

    #[test]
    fn a_backtick_cannot_close_the_span() {
        assert_eq!(code("clans"), "`clans`");
        let hostile = "x`<@1200000000000000201>";
        let echoed = code(hostile);
        assert_eq!(echoed, "`xˋ<@1200000000000000201>`");
        assert_eq!(
            echoed.matches('`').count(),
            2,
            "only the span's own backticks"
        );
        assert!(code(&"y".repeat(300)).ends_with("…`"));
        assert_eq!(code("a\nb"), "`ab`", "no line breaks out of the span");
    }
}
