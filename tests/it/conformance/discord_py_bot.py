"""A discord.py 2.x bot run against the sandbox by `conformance::discord_py`.

discord.py is a second, independent client: where it and serenity both work against the
sandbox, the sandbox is speaking Discord rather than whatever one library tolerates. The
bot reports each step as one JSON line on stdout; the Rust test acts as the users and
checks what arrived in the sandbox.

Environment: SANDBOX_API (http://host:port), SANDBOX_WS (ws://host:port/gateway),
DISCORD_TOKEN, GUILD_ID.
"""

import asyncio
import json
import logging
import os
import sys

import discord
import yarl
from discord import app_commands

api = os.environ["SANDBOX_API"]
discord.http.Route.BASE = f"{api}/api/v10"
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["SANDBOX_WS"])
GUILD = discord.Object(id=int(os.environ["GUILD_ID"]))


def report(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


class Buttons(discord.ui.View):
    def __init__(self):
        super().__init__(timeout=None)

    @discord.ui.button(label="Press", style=discord.ButtonStyle.primary, custom_id="dpy:press")
    async def press(self, interaction: discord.Interaction, button: discord.ui.Button):
        await interaction.response.edit_message(content=f"pressed by {interaction.user.name}", view=None)
        report("button", user=interaction.user.name)


class Form(discord.ui.Modal, title="Tell us"):
    answer = discord.ui.TextInput(label="Answer", custom_id="dpy:answer")

    async def on_submit(self, interaction: discord.Interaction):
        await interaction.response.send_message(f"you said {self.answer.value}")
        report("modal", value=self.answer.value)


class Bot(discord.Client):
    def __init__(self):
        intents = discord.Intents.default()
        intents.message_content = True
        intents.members = True
        super().__init__(intents=intents)
        self.tree = app_commands.CommandTree(self)

    async def setup_hook(self):
        self.add_view(Buttons())

        @self.tree.command(name="hello", description="Say hello", guild=GUILD)
        async def hello(interaction: discord.Interaction):
            await interaction.response.send_message("hello from discord.py")
            report("slash", user=interaction.user.name)

        @self.tree.command(name="later", description="Answer later", guild=GUILD)
        async def later(interaction: discord.Interaction):
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.2)
            await interaction.followup.send("done later")
            report("deferred")

        @self.tree.command(name="form", description="Open a form", guild=GUILD)
        async def form(interaction: discord.Interaction):
            await interaction.response.send_modal(Form())
            report("modal_opened")

    async def on_ready(self):
        synced = await self.tree.sync(guild=GUILD)
        guild = self.get_guild(GUILD.id)
        report(
            "ready",
            user=self.user.name,
            guild=guild.name if guild else None,
            members=guild.member_count if guild else None,
            chunked=guild.chunked if guild else None,
            commands=sorted(c.name for c in synced),
        )

    async def on_message(self, message: discord.Message):
        if message.author.bot:
            return
        if message.content == "!hello":
            embed = discord.Embed(title="Hello", description=f"hi {message.author.name}")
            embed.add_field(name="channel", value=message.channel.name)
            reply = await message.reply(embed=embed, mention_author=False)
            report("message", content=message.content, reply_type=reply.type.value)
        elif message.content == "!buttons":
            sent = await message.channel.send("press it", view=Buttons())
            report("buttons", message_id=str(sent.id))


async def main():
    discord.utils.setup_logging(level=logging.INFO)
    bot = Bot()
    try:
        await bot.start(os.environ["DISCORD_TOKEN"])
    except Exception as e:  # reported, so the Rust test shows why
        report("error", error=f"{type(e).__name__}: {e}")
        sys.exit(1)


asyncio.run(main())
