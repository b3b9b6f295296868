"""The FAQ bot in Python: the `switchboard:flow@0.1.0` world `bot-plugin`, componentized with
componentize-py. It behaves as plugins/faq-bot (Rust) does and passes the same compliance profile
(plugins/faq-bot/fixtures/check.toml). Answers can be replaced per intent through the plugin's
key-value store: key `faq/<intent>`.

This module only translates between the WIT types and the plain values of `faq_bot.bot`.
"""

from componentize_py_types import Err

from wit_world import exports
from wit_world.imports import kv
from wit_world.imports import types as t

from faq_bot import bot

_EXITS = {
    "continue": t.ExitReason_Continue,
    "done": t.ExitReason_Done,
    "handoff": t.ExitReason_Handoff,
}


class Bot(exports.Bot):
    def turn(self, input: t.BotInput) -> t.BotOutput:
        try:
            out = bot.turn(input.text, input.quick_reply, input.session, lambda i: kv.get(f"faq/{i}"))
        except Exception as e:  # A bug is the flow's error path, never a trap.
            raise Err(f"faq-bot-py failed: {type(e).__name__}: {e}") from None
        return t.BotOutput(
            replies=[
                t.Reply(text=text, quick_replies=[t.QuickReply(label=l, payload=p) for l, p in quick])
                for text, quick in out["replies"]
            ],
            intent=out["intent"],
            confidence=out["confidence"],
            slots=out["slots"],
            session=out["session"],
            exit=_EXITS[out["exit"]](),
        )
