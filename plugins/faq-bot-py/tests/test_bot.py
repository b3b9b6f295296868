import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from faq_bot import bot  # noqa: E402


class BotTest(unittest.TestCase):
    def test_order_numbers(self):
        self.assertEqual(bot.find_order_number("order 12-345 please"), "12-345")
        self.assertIsNone(bot.find_order_number("123-456"))
        self.assertIsNone(bot.find_order_number("12-3456"))
        self.assertEqual(bot.find_order_number("é 98-765é"), "98-765")

    def test_faqs_and_kv_answers(self):
        out = bot.turn("What are your opening hours?", None, "")
        self.assertEqual((out["exit"], out["intent"]), ("done", "hours"))
        self.assertIn("Monday", out["replies"][0][0])
        out = bot.turn("are you open", None, "", lambda i: "Open 24/7." if i == "hours" else None)
        self.assertEqual(out["replies"][0][0], "Open 24/7.")

    def test_order_status_then_slot(self):
        first = bot.turn("where is my order?", None, "")
        self.assertEqual(first["exit"], "continue")
        second = bot.turn("it is 42-123", None, first["session"])
        self.assertEqual(second["exit"], "done")
        self.assertEqual(second["slots"], [("order_number", "42-123")])

    def test_handoff_and_misses(self):
        self.assertEqual(bot.turn("AGENT please", None, "")["exit"], "handoff")
        self.assertEqual(bot.turn("reagentless shipping", None, "")["intent"], "shipping")
        first = bot.turn("blorp", None, "")
        self.assertEqual(first["exit"], "continue")
        self.assertTrue(first["replies"][0][1])
        self.assertEqual(bot.turn("zzz", None, first["session"])["exit"], "handoff")

    def test_broken_sessions_start_over(self):
        for session in ["not json", "[1,2]", '{"misses":"x"}']:
            out = bot.turn("hours?", None, session)
            self.assertEqual(out["exit"], "done")
            self.assertEqual(json.loads(out["session"]), {"awaiting_order_number": False, "misses": 0})


if __name__ == "__main__":
    unittest.main()
