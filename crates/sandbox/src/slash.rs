//! Turns a typed line such as `/ops refresh clans templates` or `/help command:ping` into
//! the `data` of an APPLICATION_COMMAND interaction, using the command definitions the
//! bot registered (so the console accepts exactly what Discord's UI would).

use serde_json::{Value, json};

/// Looks up names typed by a person: `@staff`, `#general`, `@&Staff`.
pub(crate) trait Resolver {
    fn user(&self, s: &str) -> Option<u64>;
    fn channel(&self, s: &str) -> Option<u64>;
    fn role(&self, s: &str) -> Option<u64>;
}

/// Ids mentioned by the options, for the interaction's `resolved` map.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Mentioned {
    pub users: Vec<u64>,
    pub channels: Vec<u64>,
    pub roles: Vec<u64>,
}

/// Splits on whitespace, keeping "double quoted" runs together.
pub(crate) fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut had = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                had = true;
            }
            c if c.is_whitespace() && !quoted => {
                if had || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    had = false;
                }
            }
            c => cur.push(c),
        }
    }
    if had || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn names(list: &[Value]) -> String {
    list.iter()
        .filter_map(|c| c["name"].as_str())
        .map(|n| format!("/{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn convert(opt: &Value, raw: &str, r: &dyn Resolver, m: &mut Mentioned) -> Result<Value, String> {
    let name = opt["name"].as_str().unwrap_or("?");
    if let Some(choices) = opt["choices"].as_array().filter(|c| !c.is_empty()) {
        let found = choices.iter().find(|c| {
            c["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(raw))
                || cell_eq(&c["value"], raw)
        });
        return match found {
            Some(c) => Ok(c["value"].clone()),
            None => Err(format!(
                "{name}: {raw:?} is not one of {}",
                choices
                    .iter()
                    .filter_map(|c| c["name"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
    }
    let bad = |what: &str| format!("{name}: {raw:?} is not {what}");
    Ok(match opt["type"].as_u64().unwrap_or(3) {
        3 => json!(raw),
        4 => json!(raw.parse::<i64>().map_err(|_| bad("a whole number"))?),
        10 => json!(raw.parse::<f64>().map_err(|_| bad("a number"))?),
        5 => json!(parse_bool(raw).ok_or_else(|| bad("true or false"))?),
        6 => {
            let id = r.user(raw).ok_or_else(|| bad("a member of the guild"))?;
            m.users.push(id);
            json!(id.to_string())
        }
        7 => {
            let id = r.channel(raw).ok_or_else(|| bad("a channel"))?;
            m.channels.push(id);
            json!(id.to_string())
        }
        8 => {
            let id = r.role(raw).ok_or_else(|| bad("a role"))?;
            m.roles.push(id);
            json!(id.to_string())
        }
        9 => {
            if let Some(id) = r.user(raw) {
                m.users.push(id);
                json!(id.to_string())
            } else {
                let id = r.role(raw).ok_or_else(|| bad("a member or role"))?;
                m.roles.push(id);
                json!(id.to_string())
            }
        }
        other => {
            return Err(format!(
                "{name}: option type {other} is not supported by the sandbox"
            ));
        }
    })
}

fn cell_eq(v: &Value, raw: &str) -> bool {
    match v {
        Value::String(s) => s.eq_ignore_ascii_case(raw),
        Value::Number(n) => n.to_string() == raw,
        _ => false,
    }
}

/// Fills a command's parameters from tokens: `name:value` tokens first, the rest in order;
/// the last string parameter takes the remainder of the line.
fn fill(
    params: &[Value],
    tokens: &[String],
    r: &dyn Resolver,
    m: &mut Mentioned,
) -> Result<Vec<Value>, String> {
    let mut given: Vec<(usize, String)> = Vec::new();
    let mut positional: Vec<String> = Vec::new();
    for t in tokens {
        match t
            .split_once(':')
            .and_then(|(k, v)| params.iter().position(|p| p["name"] == k).map(|i| (i, v)))
        {
            Some((i, v)) => given.push((i, v.to_owned())),
            None => positional.push(t.clone()),
        }
    }
    let taken: Vec<usize> = given.iter().map(|(g, _)| *g).collect();
    let mut free = (0..params.len()).filter(|i| !taken.contains(i)).peekable();
    let mut pos = positional.into_iter().peekable();
    while let (Some(&i), Some(_)) = (free.peek(), pos.peek()) {
        free.next();
        let is_last = free.peek().is_none();
        let value = if is_last && params[i]["type"].as_u64().unwrap_or(3) == 3 {
            pos.by_ref().collect::<Vec<_>>().join(" ")
        } else {
            pos.next().unwrap_or_default()
        };
        given.push((i, value));
    }
    if let Some(extra) = pos.next() {
        return Err(format!(
            "unexpected {extra:?}: the command takes {} option(s)",
            params.len()
        ));
    }
    for (i, p) in params.iter().enumerate() {
        if p["required"].as_bool().unwrap_or(false) && !given.iter().any(|(g, _)| *g == i) {
            return Err(format!(
                "missing required option {}",
                p["name"].as_str().unwrap_or("?")
            ));
        }
    }
    given.sort_by_key(|(i, _)| *i);
    given
        .into_iter()
        .map(|(i, raw)| {
            let p = &params[i];
            Ok(json!({"name": p["name"], "type": p["type"], "value": convert(p, &raw, r, m)?}))
        })
        .collect()
}

/// Builds the interaction `data` for `line` (with or without the leading `/`).
pub(crate) fn build(
    commands: &[Value],
    line: &str,
    r: &dyn Resolver,
) -> Result<(Value, Mentioned), String> {
    let tokens = tokenize(line.trim().trim_start_matches('/'));
    let Some((name, rest)) = tokens.split_first() else {
        return Err(format!(
            "type a command after /; registered: {}",
            names(commands)
        ));
    };
    let Some(cmd) = commands.iter().find(|c| {
        c["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    }) else {
        return Err(format!(
            "/{name} is not a registered command; registered: {}",
            names(commands)
        ));
    };
    let mut mentioned = Mentioned::default();
    let opts = cmd["options"].as_array().cloned().unwrap_or_default();
    let is_sub = |o: &Value| matches!(o["type"].as_u64(), Some(1) | Some(2));
    let options = if opts.iter().any(is_sub) {
        let Some((sub, rest)) = rest.split_first() else {
            return Err(format!(
                "/{name} needs a subcommand: {}",
                opts.iter()
                    .filter_map(|o| o["name"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        let Some(s) = opts.iter().find(|o| {
            o["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(sub))
        }) else {
            return Err(format!(
                "/{name} has no subcommand {sub:?}; try: {}",
                opts.iter()
                    .filter_map(|o| o["name"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        let inner = s["options"].as_array().cloned().unwrap_or_default();
        let nested = if s["type"] == 2 {
            // A subcommand group: one more level.
            let leaves = || {
                inner
                    .iter()
                    .filter_map(|o| o["name"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let Some((leaf, rest)) = rest.split_first() else {
                return Err(format!("/{name} {sub} needs a subcommand: {}", leaves()));
            };
            let Some(l) = inner.iter().find(|o| {
                o["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(leaf))
            }) else {
                return Err(format!(
                    "/{name} {sub} has no subcommand {leaf:?}; try: {}",
                    leaves()
                ));
            };
            let params = l["options"].as_array().cloned().unwrap_or_default();
            vec![
                json!({"name": l["name"], "type": 1, "options": fill(&params, rest, r, &mut mentioned)?}),
            ]
        } else {
            fill(&inner, rest, r, &mut mentioned)?
        };
        vec![json!({"name": s["name"], "type": s["type"], "options": nested})]
    } else {
        fill(&opts, rest, r, &mut mentioned)?
    };
    Ok((
        json!({"id": cmd["id"], "name": cmd["name"], "type": cmd["type"].as_u64().unwrap_or(1), "guild_id": cmd["guild_id"], "options": options}),
        mentioned,
    ))
}

/// A boolean option as Discord's client accepts it typed.
fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R;
    impl Resolver for R {
        fn user(&self, s: &str) -> Option<u64> {
            (s.trim_start_matches('@') == "rue").then_some(5)
        }
        fn channel(&self, s: &str) -> Option<u64> {
            (s.trim_start_matches('#') == "general").then_some(7)
        }
        fn role(&self, _: &str) -> Option<u64> {
            None
        }
    }

    fn commands() -> Vec<Value> {
        serde_json::from_value(json!([
            {"id": "1", "name": "help", "type": 1, "options": [{"type": 3, "name": "command", "description": "d", "required": false}]},
            {"id": "2", "name": "ops", "type": 1, "options": [
                {"type": 1, "name": "health", "description": "d", "options": []},
                {"type": 1, "name": "refresh", "description": "d", "options": [{"type": 3, "name": "buckets", "description": "d", "required": true}]},
                {"type": 2, "name": "jobs", "description": "d", "options": [
                    {"type": 1, "name": "list", "description": "d", "options": []},
                    {"type": 1, "name": "run", "description": "d", "options": [{"type": 3, "name": "job", "description": "d", "required": true}]}
                ]}
            ]},
            {"id": "3", "name": "reserve", "type": 1, "options": [
                {"type": 3, "name": "tag", "description": "d", "required": true},
                {"type": 6, "name": "recruit", "description": "d", "required": false},
                {"type": 4, "name": "days", "description": "d", "required": false}
            ]},
            {"id": "4", "name": "mode", "type": 1, "options": [{"type": 3, "name": "kind", "description": "d", "required": true, "choices": [{"name": "Open", "value": "open"}, {"name": "Full", "value": "full"}]}]}
        ]))
        .unwrap()
    }

    #[test]
    fn tokenizes_quotes() {
        assert_eq!(tokenize(r#"a "b c" d"#), vec!["a", "b c", "d"]);
        assert_eq!(tokenize(r#"x """#), vec!["x", ""]);
    }

    #[test]
    fn plain_optional_and_rest_of_line() {
        let (d, _) = build(&commands(), "/help", &R).unwrap();
        assert_eq!(d["options"], json!([]));
        let (d, _) = build(&commands(), "/help ops refresh", &R).unwrap();
        assert_eq!(
            d["options"],
            json!([{"name": "command", "type": 3, "value": "ops refresh"}])
        );
    }

    #[test]
    fn subcommands_and_required_options() {
        let (d, _) = build(&commands(), "/ops refresh clans templates", &R).unwrap();
        assert_eq!(d["options"][0]["name"], "refresh");
        assert_eq!(d["options"][0]["options"][0]["value"], "clans templates");
        assert_eq!(
            build(&commands(), "/ops refresh", &R).unwrap_err(),
            "missing required option buckets"
        );
        assert!(
            build(&commands(), "/ops", &R)
                .unwrap_err()
                .contains("needs a subcommand: health, refresh, jobs")
        );
        let (d, _) = build(&commands(), "/ops jobs run retention:sweep", &R).unwrap();
        assert_eq!(d["options"][0]["name"], "jobs");
        assert_eq!(d["options"][0]["options"][0]["name"], "run");
        assert_eq!(
            d["options"][0]["options"][0]["options"][0]["value"],
            "retention:sweep"
        );
        assert_eq!(
            build(&commands(), "/ops jobs", &R).unwrap_err(),
            "/ops jobs needs a subcommand: list, run"
        );
        assert_eq!(
            build(&commands(), "/ops jobs nope", &R).unwrap_err(),
            "/ops jobs has no subcommand \"nope\"; try: list, run"
        );
        assert!(
            build(&commands(), "/nope", &R)
                .unwrap_err()
                .contains("registered: /help, /ops, /reserve, /mode")
        );
    }

    #[test]
    fn typed_and_named_options_with_resolved_users() {
        let (d, m) = build(&commands(), "/reserve ABC @rue 3", &R).unwrap();
        assert_eq!(
            d["options"],
            json!([
                {"name": "tag", "type": 3, "value": "ABC"},
                {"name": "recruit", "type": 6, "value": "5"},
                {"name": "days", "type": 4, "value": 3}
            ])
        );
        assert_eq!(m.users, vec![5]);
        let (d, _) = build(&commands(), "/reserve days:7 tag:XYZ", &R).unwrap();
        assert_eq!(d["options"][0]["value"], "XYZ");
        assert_eq!(d["options"][1]["value"], 7);
        assert!(
            build(&commands(), "/reserve ABC @nobody", &R)
                .unwrap_err()
                .contains("recruit: \"@nobody\" is not a member")
        );
        assert!(
            build(&commands(), "/reserve ABC @rue many", &R)
                .unwrap_err()
                .contains("days: \"many\" is not a whole number")
        );
    }

    #[test]
    fn choices_match_by_name_or_value() {
        assert_eq!(
            build(&commands(), "/mode open", &R).unwrap().0["options"][0]["value"],
            "open"
        );
        assert_eq!(
            build(&commands(), "/mode Full", &R).unwrap().0["options"][0]["value"],
            "full"
        );
        assert!(
            build(&commands(), "/mode closed", &R)
                .unwrap_err()
                .contains("not one of Open, Full")
        );
    }
}
