//! `help [command]`: sections by audience, listing only what the caller may run, or one
//! command's usage in detail. Built from the commands' own metadata, so help cannot
//! drift from what the dispatcher enforces (the predecessor's help did).

use serde::Serialize;

use super::errors::CommandError;
use super::framework::caller_tier;
use super::reply::{self, Reply};
use super::tiers::{Tier, meta_of};
use super::{Command, Ctx};
use crate::message::embed::{COLOR_INFO, Embed};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Param {
    pub name: String,
    pub required: bool,
    pub description: String,
}

/// One runnable command (subcommands are listed by their full name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct HelpEntry {
    pub name: String,
    pub description: String,
    pub details: Option<String>,
    pub tier: Tier,
    pub params: Vec<Param>,
    pub prefix: bool,
    pub slash: bool,
}

/// Usage as typed: `!ops refresh <buckets>`, `/reserve tag:<tag> [recruit]`.
pub(crate) fn usage(entry: &HelpEntry, prefix: bool) -> String {
    let mut s = format!("{}{}", if prefix { "!" } else { "/" }, entry.name);
    for p in &entry.params {
        s.push(' ');
        s.push_str(&if p.required {
            format!("<{}>", p.name)
        } else {
            format!("[{}]", p.name)
        });
    }
    s
}

pub(crate) fn usage_line(cmd: &Command, prefix: bool) -> String {
    usage(&entry_of(cmd), prefix)
}

fn entry_of(cmd: &Command) -> HelpEntry {
    HelpEntry {
        name: cmd.qualified_name.to_string(),
        description: cmd.description.as_deref().unwrap_or("").to_owned(),
        details: cmd.help_text.as_deref().map(str::to_owned),
        tier: meta_of(cmd).tier,
        params: cmd
            .parameters
            .iter()
            .map(|p| Param {
                name: p.name.to_string(),
                required: p.required,
                description: p.description.as_deref().unwrap_or("").to_owned(),
            })
            .collect(),
        prefix: cmd.prefix_action.is_some(),
        slash: cmd.slash_action.is_some(),
    }
}

/// Every leaf command, sorted by name.
pub(crate) fn entries(commands: &[Command]) -> Vec<HelpEntry> {
    fn walk(cmds: &[Command], out: &mut Vec<HelpEntry>) {
        for c in cmds.iter().filter(|c| !c.hide_in_help) {
            if c.subcommands.is_empty() {
                out.push(entry_of(c));
            } else {
                walk(&c.subcommands, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(commands, &mut out);
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn line(e: &HelpEntry) -> String {
    let form = if e.prefix {
        usage(e, true)
    } else {
        usage(e, false)
    };
    format!("`{form}` — {}", e.description)
}

/// The overview for a caller of `tier`: one section per audience they belong to.
pub(crate) fn overview(entries: &[HelpEntry], tier: Tier, bot: &str) -> Vec<Embed> {
    let visible: Vec<&HelpEntry> = entries.iter().filter(|e| e.tier <= tier).collect();
    let mut embed = Embed::new(format!("{bot} · help"))
        .description(format!(
            "Commands you can run as **{tier}**. `!help <command>` shows one in detail; every command also works as a slash command (`/help`)."
        ))
        .color(COLOR_INFO);
    for section in Tier::ALL.iter().filter(|t| **t <= tier) {
        let lines: Vec<String> = visible
            .iter()
            .filter(|e| e.tier == *section)
            .map(|e| line(e))
            .collect();
        if !lines.is_empty() {
            embed = embed.field(section.audience(), lines.join("\n"), false);
        }
    }
    vec![embed.footer(format!("audience: {tier} • {} commands", visible.len()))]
}

/// One command in detail; says so when the caller may not run it.
pub(crate) fn detail(e: &HelpEntry, tier: Tier) -> Embed {
    let mut embed = Embed::new(format!("help · {}", e.name))
        .description(e.description.clone())
        .color(COLOR_INFO);
    let mut forms = Vec::new();
    if e.prefix {
        forms.push(format!("`{}`", usage(e, true)));
    }
    if e.slash {
        forms.push(format!("`{}`", usage(e, false)));
    }
    embed = embed.field("Usage", forms.join("\n"), false);
    if !e.params.is_empty() {
        let params: Vec<String> = e
            .params
            .iter()
            .map(|p| {
                format!(
                    "`{}`{} — {}",
                    p.name,
                    if p.required { "" } else { " (optional)" },
                    p.description
                )
            })
            .collect();
        embed = embed.field("Options", params.join("\n"), false);
    }
    if let Some(d) = &e.details {
        embed = embed.field("Details", d.clone(), false);
    }
    let access = if tier >= e.tier {
        format!("{} tier: you can run this.", e.tier)
    } else {
        format!("Needs the **{}** tier; you are **{tier}**.", e.tier)
    };
    embed.field("Access", access, false)
}

/// What a `help` query names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    One(&'a HelpEntry),
    /// A command group such as `ops jobs`, with its commands.
    Group(String, Vec<&'a HelpEntry>),
}

/// Finds a command by name, qualified name or a unique prefix of it, or a group by its
/// full name.
pub(crate) fn find<'a>(entries: &'a [HelpEntry], query: &str) -> Result<Found<'a>, String> {
    let q = query
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches(['!', '/'])
        .to_lowercase();
    if let Some(e) = entries.iter().find(|e| e.name == q) {
        return Ok(Found::One(e));
    }
    let group_prefix = format!("{q} ");
    let members: Vec<&HelpEntry> = entries
        .iter()
        .filter(|e| e.name.starts_with(&group_prefix))
        .collect();
    if !members.is_empty() {
        return Ok(Found::Group(q, members));
    }
    let matches: Vec<&HelpEntry> = entries
        .iter()
        .filter(|e| e.name.starts_with(&q) || e.name.split(' ').next_back() == Some(q.as_str()))
        .collect();
    match matches.as_slice() {
        [one] => Ok(Found::One(one)),
        [] => Err(format!(
            "There is no command {}. `!help` lists the ones you can run.",
            crate::util::text::code(query.trim())
        )),
        many => Err(format!(
            "{} could mean {}. Be more specific.",
            crate::util::text::code(query.trim()),
            many.iter()
                .map(|e| format!("`{}`", e.name))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A command group: the commands in it the caller may run, as the overview lists them
/// (a member asking about `ops` learns the tier it needs, not the staff commands).
pub(crate) fn group(name: &str, members: &[&HelpEntry], tier: Tier) -> Result<Embed, String> {
    let lines: Vec<String> = members
        .iter()
        .filter(|e| tier >= e.tier)
        .map(|e| line(e))
        .collect();
    let hidden = members.len() - lines.len();
    if lines.is_empty() {
        let needed = members.iter().map(|e| e.tier).min().unwrap_or(Tier::Admin);
        return Err(format!(
            "🔒 `{name}` commands need the **{needed}** tier; you are **{tier}**."
        ));
    }
    let mut embed = Embed::new(format!("help · {name}"))
        .description(format!("`!help {name} <command>` explains one of these."))
        .color(COLOR_INFO)
        .field("Commands", lines.join("\n"), false);
    if hidden > 0 {
        embed = embed.footer(format!("{hidden} more need a higher tier than {tier}"));
    }
    Ok(embed)
}

/// The help-visibility table (`HELP_DIAGNOSTICS`): every command, the tier it needs and
/// whether a caller of `tier` is shown it. Staff use it to check that role ids in the
/// Config tab put people where they belong without asking each of them for a screenshot.
pub(crate) fn visibility_table(entries: &[HelpEntry], tier: Tier, caller: &str) -> Embed {
    let width = entries
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut rows = vec![format!("{:<width$}  {:<9}  shown", "command", "needs")];
    for e in entries {
        let shown = if e.tier <= tier { "yes" } else { "no" };
        rows.push(format!(
            "{:<width$}  {:<9}  {shown}",
            e.name,
            e.tier.to_string()
        ));
    }
    let shown = entries.iter().filter(|e| e.tier <= tier).count();
    // One code block per chunk, so a long table splits cleanly across embeds.
    let mut description = String::new();
    for chunk in rows.chunks(40) {
        description.push_str(&format!("```\n{}\n```\n", chunk.join("\n")));
    }
    Embed::new(format!("Help diagnostics • {tier}"))
        .description(description)
        .color(COLOR_INFO)
        .footer(format!(
            "caller: {caller} • {shown} of {} commands shown",
            entries.len()
        ))
}

/// Shows what you can run, or how to use one command.
#[poise::command(prefix_command, slash_command, custom_data = super::tiers::Meta::member())]
pub(crate) async fn help(
    ctx: Ctx<'_>,
    #[description = "A command to explain, such as ping or ops health"]
    #[rest]
    command: Option<String>,
) -> Result<(), CommandError> {
    let all = entries(&ctx.framework().options().commands);
    let tier = caller_tier(ctx).await;
    let bot = ctx.data().settings.bot_name.clone();
    if ctx.data().settings.help_diagnostics {
        let caller = format!("{} ({})", ctx.author().name, ctx.author().id);
        let table = visibility_table(&all, tier, &caller);
        ctx.data()
            .alerts
            .post(&format!("help-diag:{tier}"), table)
            .await;
    }
    let reply = match command.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => Reply::embeds(overview(&all, tier, &bot)),
        Some(q) => match find(&all, q) {
            Ok(Found::One(e)) => Reply::embed(detail(e, tier)),
            Ok(Found::Group(name, members)) => match group(&name, &members, tier) {
                Ok(embed) => Reply::embed(embed),
                Err(msg) => return Err(CommandError::user(msg)),
            },
            Err(msg) => return Err(CommandError::user(msg)),
        },
    };
    reply::send(ctx, reply.ephemeral()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, tier: Tier, params: &[(&str, bool)]) -> HelpEntry {
        HelpEntry {
            name: name.into(),
            description: format!("does {name}"),
            details: None,
            tier,
            params: params
                .iter()
                .map(|(n, r)| Param {
                    name: (*n).into(),
                    required: *r,
                    description: "d".into(),
                })
                .collect(),
            prefix: true,
            slash: true,
        }
    }

    fn all() -> Vec<HelpEntry> {
        vec![
            e("cfg", Tier::Admin, &[("key", true)]),
            e("clanmatch", Tier::Recruiter, &[]),
            e("help", Tier::Member, &[("command", false)]),
            e("ops health", Tier::Staff, &[]),
            e("ping", Tier::Member, &[]),
        ]
    }

    #[test]
    fn a_group_lists_its_commands_and_marks_what_the_caller_cannot_run() {
        let mut entries = all();
        entries.push(e("ops jobs list", Tier::Staff, &[]));
        entries.push(e("ops jobs run", Tier::Admin, &[("job", true)]));
        let Ok(Found::Group(name, members)) = find(&entries, "  !ops   jobs ") else {
            panic!("ops jobs is a group")
        };
        assert_eq!(name, "ops jobs");
        let g = group(&name, &members, Tier::Staff).unwrap();
        assert_eq!(g.title, "help · ops jobs");
        assert_eq!(g.fields[0].value, "`!ops jobs list` — does ops jobs list");
        assert_eq!(g.footer, "1 more need a higher tier than staff");
        let g = group(&name, &members, Tier::Admin).unwrap();
        assert!(g.fields[0].value.contains("`!ops jobs run <job>`"));
        assert_eq!(g.footer, "");
        assert_eq!(
            group(&name, &members, Tier::Member).unwrap_err(),
            "🔒 `ops jobs` commands need the **staff** tier; you are **member**."
        );
        // `ops` groups every ops command, nested groups included.
        assert!(matches!(find(&entries, "ops"), Ok(Found::Group(_, m)) if m.len() == 3));
        // A leaf still wins over a group of the same prefix.
        assert!(matches!(find(&entries, "ops jobs run"), Ok(Found::One(_))));
    }

    #[test]
    fn visibility_table_marks_what_each_tier_is_shown() {
        let t = visibility_table(&all(), Tier::Recruiter, "ana (1)");
        assert_eq!(t.title, "Help diagnostics • recruiter");
        let line = |name: &str| {
            t.description
                .lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .unwrap_or_else(|| panic!("no row for {name}"))
                .split_whitespace()
                .last()
                .map(str::to_owned)
        };
        assert_eq!(line("cfg").as_deref(), Some("no"));
        assert_eq!(line("clanmatch").as_deref(), Some("yes"));
        assert_eq!(line("ping").as_deref(), Some("yes"));
        assert!(t.footer.contains("3 of 5 commands shown"), "{}", t.footer);
    }

    #[test]
    fn each_audience_sees_its_sections_only() {
        let member = overview(&all(), Tier::Member, "clanhall");
        assert_eq!(
            member[0]
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
            ["Everyone"]
        );
        assert!(!member[0].fields[0].value.contains("ops health"));
        let staff = overview(&all(), Tier::Staff, "clanhall");
        assert_eq!(
            staff[0]
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
            ["Everyone", "Recruiters", "Staff"]
        );
        let admin = overview(&all(), Tier::Admin, "clanhall");
        assert_eq!(admin[0].fields.len(), 4);
        assert_eq!(admin[0].footer, "audience: admin • 5 commands");
        assert_eq!(admin[0].fields[3].value, "`!cfg <key>` — does cfg");
    }

    #[test]
    fn detail_shows_usage_and_access() {
        let entries = all();
        let Ok(Found::One(cfg)) = find(&entries, "!cfg") else {
            panic!("cfg is one command")
        };
        let d = detail(cfg, Tier::Staff);
        assert_eq!(d.fields[0].value, "`!cfg <key>`\n`/cfg <key>`");
        assert_eq!(
            d.fields.last().unwrap().value,
            "Needs the **admin** tier; you are **staff**."
        );
        assert!(matches!(
            find(&entries, "health"),
            Ok(Found::One(e)) if e.name == "ops health"
        ));
        assert!(
            find(&entries, "nothing")
                .unwrap_err()
                .contains("no command `nothing`")
        );
        assert!(
            find(&entries, "c")
                .unwrap_err()
                .contains("could mean `cfg`, `clanmatch`")
        );
    }
}
