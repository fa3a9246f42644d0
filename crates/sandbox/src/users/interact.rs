//! Interactions: slash commands typed as in Discord's UI, button clicks, select picks,
//! modal submissions. Only people create them: Discord sends no interaction from a bot.

use serde_json::{Value, json};

use super::WorldResolver;
use crate::payloads::{self, InteractionBase, sf};
use crate::rest::register_interaction;
use crate::slash;
use crate::state::{ChannelState, InteractionState, MemberState, StoredMessage, UserState};
use crate::world::{self, GUILD_ID};
use crate::{Sandbox, SandboxError};

/// A component found on a message: the message, its type, its option values and
/// how many may be picked (min, max).
type Found = (StoredMessage, u8, Vec<String>, (usize, usize));

impl Sandbox {
    /// Registers and dispatches an interaction by `u` in `c`; `payload` builds the
    /// INTERACTION_CREATE body from the common part. The 3-second clock starts now.
    /// Bots cannot click, pick or run slash commands, so Discord never sends an
    /// interaction from one; neither does the sandbox.
    fn interact(
        &self,
        (m, u, c): (MemberState, UserState, ChannelState),
        kind: u8,
        source_message: Option<u64>,
        payload: impl FnOnce(&InteractionBase<'_>) -> Value,
    ) -> Result<u64, SandboxError> {
        if u.bot {
            return Err(SandboxError::Command(format!(
                "{} is a bot, and bots cannot use slash commands, buttons, selects or modals; \
                 only its messages reach the bot",
                u.username
            )));
        }
        let (id, perms) = {
            let mut w = self.world();
            (w.next_id(), w.permissions_of(u.id))
        };
        let token = format!("aW50ZXJhY3Rpb24{}", uuid::Uuid::new_v4().simple());
        let base = InteractionBase {
            id,
            token: &token,
            channel: &c,
            member: &m,
            user: &u,
            member_permissions: perms,
        };
        let payload = payload(&base);
        let it = InteractionState {
            id,
            token: token.clone(),
            kind,
            user_id: u.id,
            channel_id: c.id,
            source_message,
            callback: None,
            original: None,
            ephemeral: false,
        };
        register_interaction(&self.inner, it);
        self.inner
            .gateway
            .dispatch(&self.inner, "INTERACTION_CREATE", payload);
        Ok(id)
    }

    /// `user` runs a slash command typed as in Discord's UI (`/ops refresh clans`,
    /// `/help command:ping`). Returns the interaction id.
    pub fn slash(&self, user: &str, channel: &str, line: &str) -> Result<u64, SandboxError> {
        let (m, u, c) = self.resolve(user, channel)?;
        let (mut data, mentioned) = {
            let w = self.world();
            let commands = w.commands.get(&Some(GUILD_ID)).cloned().unwrap_or_default();
            if commands.is_empty() {
                return Err(SandboxError::Command(
                    "the bot has not registered any slash commands yet".into(),
                ));
            }
            slash::build(&commands, line, &WorldResolver(&w)).map_err(SandboxError::Command)?
        };
        if !(mentioned.users.is_empty()
            && mentioned.channels.is_empty()
            && mentioned.roles.is_empty())
        {
            let w = self.world();
            let mut resolved = json!({});
            for uid in &mentioned.users {
                if let Some((mm, uu)) = w.member_pair(*uid) {
                    resolved["users"][uid.to_string()] = payloads::user(&uu);
                    let mut mv = payloads::member(&mm, &uu, false);
                    mv["permissions"] = json!(w.permissions_of(*uid).to_string());
                    resolved["members"][uid.to_string()] = mv;
                }
            }
            for cid in &mentioned.channels {
                if let Some(ch) = w.channels.get(cid) {
                    let mut cv = json!({"id": sf(ch.id), "name": ch.name, "type": ch.kind, "permissions": world::MEMBER_PERMISSIONS.to_string()});
                    if let Some(p) = ch.parent_id {
                        cv["parent_id"] = sf(p);
                    }
                    resolved["channels"][cid.to_string()] = cv;
                }
            }
            for rid in &mentioned.roles {
                if let Some(r) = world::ROLES.iter().find(|r| r.id == *rid) {
                    resolved["roles"][rid.to_string()] = payloads::role(r);
                }
            }
            data["resolved"] = resolved;
        }
        self.interact((m, u, c), 2, None, |base| {
            payloads::command_interaction(base, data)
        })
    }

    /// The component `custom_id` on a message.
    fn component(&self, message_id: u64, custom_id: &str) -> Result<Found, SandboxError> {
        let w = self.world();
        let msg = w
            .messages
            .get(&message_id)
            .cloned()
            .ok_or(SandboxError::UnknownMessage(message_id))?;
        for row in msg.json["components"].as_array().into_iter().flatten() {
            for comp in row["components"].as_array().into_iter().flatten() {
                if comp["custom_id"] == custom_id {
                    if comp["disabled"].as_bool().unwrap_or(false) {
                        return Err(SandboxError::Component(format!(
                            "{custom_id:?} is disabled"
                        )));
                    }
                    let kind = comp["type"].as_u64().unwrap_or(2) as u8;
                    let values = comp["options"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|o| o["value"].as_str().map(str::to_owned))
                        .collect();
                    // Discord's defaults: one value, at least one.
                    let count = |k: &str| comp[k].as_u64().unwrap_or(1) as usize;
                    let bounds = (count("min_values"), count("max_values"));
                    return Ok((msg, kind, values, bounds));
                }
            }
        }
        Err(SandboxError::Component(format!(
            "message {message_id} has no component {custom_id:?}"
        )))
    }

    fn component_interaction(
        &self,
        user: &str,
        message_id: u64,
        custom_id: &str,
        values: &[String],
    ) -> Result<u64, SandboxError> {
        let (msg, kind, allowed, (min, max)) = self.component(message_id, custom_id)?;
        if kind == 3
            && let Some(v) = values.iter().find(|v| !allowed.contains(v))
        {
            return Err(SandboxError::Component(format!(
                "{v:?} is not an option of {custom_id:?}; options: {}",
                allowed.join(", ")
            )));
        }
        if kind == 3 && !(min..=max).contains(&values.len()) {
            return Err(SandboxError::Component(format!(
                "{custom_id:?} takes {min} to {max} choices, not {}",
                values.len()
            )));
        }
        let channel_id = msg.channel_id.to_string();
        let (m, u, c) = self.resolve(user, &channel_id)?;
        let message = msg.json.clone();
        self.interact((m, u, c), 3, Some(msg.id), |base| {
            payloads::component_interaction(base, custom_id, kind, values, message)
        })
    }

    /// `user` clicks the button `custom_id` on a message.
    pub fn click(&self, user: &str, message_id: u64, custom_id: &str) -> Result<u64, SandboxError> {
        self.component_interaction(user, message_id, custom_id, &[])
    }

    /// `user` picks `values` in the select menu `custom_id` on a message.
    pub fn select(
        &self,
        user: &str,
        message_id: u64,
        custom_id: &str,
        values: &[&str],
    ) -> Result<u64, SandboxError> {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        self.component_interaction(user, message_id, custom_id, &values)
    }

    /// The modal the bot opened in answer to `interaction_id`.
    pub fn modal(&self, interaction_id: u64) -> Option<Value> {
        self.world().modals.get(&interaction_id).cloned()
    }

    /// `user` submits the modal opened for `interaction_id` with `(field custom_id, value)`
    /// pairs; fields not given are submitted empty.
    pub fn submit_modal(
        &self,
        user: &str,
        interaction_id: u64,
        values: &[(&str, &str)],
    ) -> Result<u64, SandboxError> {
        let (modal, channel_id, source) = {
            let w = self.world();
            let modal = w.modals.get(&interaction_id).cloned().ok_or_else(|| {
                SandboxError::Component(format!(
                    "no modal is open for interaction {interaction_id}"
                ))
            })?;
            let opener = w.interactions.get(&interaction_id);
            let channel = opener.map(|i| i.channel_id).unwrap_or(0);
            // A modal opened by a button carries that button's message.
            let source = opener
                .and_then(|i| i.source_message)
                .and_then(|m| w.messages.get(&m).map(|s| (m, s.json.clone())));
            (modal, channel, source)
        };
        let mut fields = Vec::new();
        for row in modal["components"].as_array().into_iter().flatten() {
            for input in row["components"].as_array().into_iter().flatten() {
                let cid = input["custom_id"].as_str().unwrap_or("").to_owned();
                let v = values
                    .iter()
                    .find(|(k, _)| *k == cid)
                    .map(|(_, v)| (*v).to_owned())
                    .unwrap_or_default();
                if input["required"].as_bool().unwrap_or(true) && v.is_empty() {
                    return Err(SandboxError::Component(format!(
                        "the modal field {cid:?} is required"
                    )));
                }
                fields.push((cid, v));
            }
        }
        if let Some((k, _)) = values
            .iter()
            .find(|(k, _)| !fields.iter().any(|(f, _)| f == k))
        {
            return Err(SandboxError::Component(format!(
                "the modal has no field {k:?}"
            )));
        }
        let (m, u, c) = self.resolve(user, &channel_id.to_string())?;
        let custom_id = modal["custom_id"].as_str().unwrap_or("").to_owned();
        let (source_id, message) = match source {
            Some((id, json)) => (Some(id), Some(json)),
            None => (None, None),
        };
        let id = self.interact((m, u, c), 5, source_id, |base| {
            payloads::modal_interaction(base, &custom_id, &fields, message)
        })?;
        self.world().modals.remove(&interaction_id);
        Ok(id)
    }
}
