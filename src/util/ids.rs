//! Discord ids as staff paste them into the sheet: bare snowflakes or mentions.

/// Parses one Discord id: digits (17-20), or a mention such as `<@&123…>` / `<#123…>`.
pub(crate) fn parse_snowflake(s: &str) -> Option<u64> {
    let t = s
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_start_matches(['@', '#', '&', '!']);
    ((17..=20).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
        // Zero is no id (and serenity's id types refuse it).
        .filter(|&id: &u64| id != 0)
}

/// Parses a list of ids separated by commas, semicolons or whitespace. Returns the valid
/// ids and the entries that are not ids.
pub(crate) fn parse_id_list(s: &str) -> (Vec<u64>, Vec<String>) {
    let mut ids = Vec::new();
    let mut bad = Vec::new();
    for part in s
        .split([',', ';', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match parse_snowflake(part) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => bad.push(part.to_owned()),
        }
    }
    (ids, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_mentions() {
        assert_eq!(
            parse_snowflake("<@&1200000000000000101>"),
            Some(1200000000000000101)
        );
        assert_eq!(
            parse_snowflake("<#1200000000000000302>"),
            Some(1200000000000000302)
        );
        assert_eq!(parse_snowflake("12345"), None, "too short for a snowflake");
        assert_eq!(parse_snowflake("00000000000000000"), None, "zero is no id");
        assert_eq!(
            parse_id_list("1, 1200000000000000101;1200000000000000101"),
            (vec![1200000000000000101], vec!["1".to_owned()])
        );
    }
}
