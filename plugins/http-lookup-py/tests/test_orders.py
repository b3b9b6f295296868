import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from http_lookup import orders  # noqa: E402
from http_lookup.orders import ActionFailure, HttpFailure  # noqa: E402


def no_kv(_key):
    return None


class OrdersTest(unittest.TestCase):
    def test_urls_and_ids(self):
        self.assertEqual(orders.order_url("http://h:1/api/", "12-345"), "http://h:1/api/orders/12-345")
        self.assertTrue(orders.valid_order_id("12-345"))
        for bad in ["../admin", "a b", "", "x" * 65]:
            self.assertFalse(orders.valid_order_id(bad), bad)

    def test_kv_base_url_wins_over_the_input(self):
        fields = [("base_url", "http://input")]
        self.assertEqual(orders.base_url("http://kv", fields), "http://kv")
        self.assertEqual(orders.base_url(None, fields), "http://input")
        self.assertEqual(orders.base_url(" ", fields), "http://input")
        with self.assertRaises(ActionFailure) as e:
            orders.base_url(None, [])
        self.assertEqual(e.exception.kind, "invalid_input")

    def test_responses_map_to_fields_or_typed_errors(self):
        out = dict(orders.read_response(200, b'{"status":"shipped","eta":"2025-06-01"}'))
        self.assertEqual(out, {"found": "true", "status": "shipped", "eta": "2025-06-01", "carrier": ""})
        self.assertEqual(dict(orders.read_response(404, b""))["found"], "false")
        for status, body in [(500, b""), (200, b"nope"), (200, b"[1]")]:
            with self.assertRaises(ActionFailure) as e:
                orders.read_response(status, body)
            self.assertEqual(e.exception.kind, "failed")

    def test_the_action_calls_the_backend(self):
        seen = []

        def get(url):
            seen.append(url)
            return 200, b'{"status":"shipped","carrier":"DHL"}'

        out = orders.call("order-status", [("order_id", "12-345"), ("base_url", "http://b")], no_kv, get)
        self.assertEqual(dict(out)["carrier"], "DHL")
        self.assertEqual(seen, ["http://b/orders/12-345"])

        def denied(_url):
            raise HttpFailure("denied_host", "evil.example:80")

        with self.assertRaises(ActionFailure) as e:
            orders.call("order-status", [("order_id", "1"), ("base_url", "http://evil.example")], no_kv, denied)
        self.assertTrue(e.exception.message.startswith("denied host evil.example:80"))
        with self.assertRaises(ActionFailure) as e:
            orders.call("nope", [], no_kv, get)
        self.assertEqual(e.exception.kind, "not_found")
        with self.assertRaises(ActionFailure) as e:
            orders.call("order-status", [("order_id", "x/y")], no_kv, get)
        self.assertEqual(e.exception.kind, "invalid_input")


if __name__ == "__main__":
    unittest.main()
