"""Native tests of the pure modules (`python3 -m unittest discover -s tests`): the same vectors
and fixtures as the Rust adapter's unit tests. The component itself is checked by
tests/tests/compliance.rs."""

import hashlib
import hmac
import json
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from open_messaging import inbound, send, webhook  # noqa: E402
from open_messaging.sdk import (  # noqa: E402
    AdapterError,
    base64_decode,
    format_rfc3339_ms,
    MAX_NESTING,
    hmac_sha256,
    parse_json,
    parse_rfc3339_ms,
    sign_base64,
    sign_hex,
)

FIXTURES = HERE.parent.parent / "open-messaging" / "fixtures"
SECRET = "fixture-genesys-secret"
BODY = b'{"id":"msg-0001","type":"Text","text":"hi","direction":"Outbound"}'
BODY_SIGNATURE = "sha256=klH9Q8l/R1Mu8Qpggwr+0C7S5T5WUTu9tQc8CZnwqRM="
SIG = webhook.SIGNATURE_HEADER


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def handle(headers, body, secret=SECRET, token=None, method="POST"):
    return webhook.handle(method, headers, body, secret, token)


def signed(name: str):
    body = fixture(name)
    return handle([(SIG, sign_base64(SECRET.encode(), body))], body)


class Webhook(unittest.TestCase):
    def refusal(self, *args, **kwargs) -> AdapterError:
        with self.assertRaises(AdapterError) as caught:
            handle(*args, **kwargs)
        return caught.exception

    def test_hmac_matches_the_standard_library(self):
        for key in (b"", b"Jefe", b"k" * 64, bytes(range(131))):
            for message in (b"", b"what do ya want for nothing?", bytes(1000)):
                self.assertEqual(hmac_sha256(key, message), hmac.new(key, message, hashlib.sha256).digest())

    def test_reference_vector_and_encodings(self):
        self.assertEqual(sign_base64(SECRET.encode(), BODY), BODY_SIGNATURE)
        response, events = handle([(SIG, BODY_SIGNATURE)], BODY)
        self.assertEqual((response[0], events), (200, []))
        handle([(SIG, sign_hex(SECRET.encode(), BODY))], BODY)
        pretty = b'{\n  "id": "msg-0001",\n  "type": "Text",\n  "text": "hi",\n  "direction": "Outbound"\n}'
        handle([(SIG, BODY_SIGNATURE)], pretty)
        spaced = b'{"id":"msg-0001","type":"Text","text":"h i","direction":"Outbound"}'
        self.assertEqual(self.refusal([(SIG, BODY_SIGNATURE)], spaced).kind, "unauthorized")

    def test_refusals(self):
        self.assertEqual(
            self.refusal([], BODY), AdapterError("unauthorized", "the x-hub-signature-256 header is missing")
        )
        self.assertEqual(
            self.refusal([(SIG, "sha256=%%%")], BODY).message,
            "x-hub-signature-256: the signature is not valid base64 or hex",
        )
        tampered = BODY.replace(b"0001", b"0002")
        self.assertEqual(
            self.refusal([(SIG, BODY_SIGNATURE)], tampered).message,
            "x-hub-signature-256: the signature does not match the body and secret",
        )
        self.assertEqual(self.refusal([(SIG, BODY_SIGNATURE)], BODY, secret="other").kind, "unauthorized")
        self.assertEqual(self.refusal([], BODY, method="GET").kind, "malformed")
        self.assertIsNone(base64_decode("QR=="))
        self.assertIsNone(base64_decode("QQ"))
        self.assertEqual(base64_decode("AAAA"), b"\0\0\0")

    def test_deep_nesting_is_malformed_and_strings_do_not_count(self):
        for body in (b"[" * 200_000, b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1)):
            with self.assertRaises(AdapterError) as refused:
                parse_json(body)
            self.assertEqual(refused.exception.kind, "malformed")
        deepest = b"[" * MAX_NESTING + b"]" * MAX_NESTING
        self.assertIsInstance(parse_json(deepest), list)
        brackets_in_text = json.dumps({"text": "[" * 1000 + '\\"{'}).encode()
        self.assertEqual(parse_json(brackets_in_text), {"text": "[" * 1000 + '\\"{'})

    def test_bearer_token(self):
        body = fixture("inbound-message.json")
        bearer = [("Authorization", "Bearer fixture-inbound-token")]
        self.assertEqual(len(handle(bearer, body, token="fixture-inbound-token")[1]), 1)
        self.assertEqual(
            self.refusal([("authorization", "Bearer guessed")], body, token="fixture-inbound-token").message,
            "the bearer token is not the integration's `inbound_token`",
        )
        self.assertIn("Bearer", self.refusal([], body, token="fixture-inbound-token").message)
        self.assertEqual(self.refusal(bearer, body).message, "the x-hub-signature-256 header is missing")

    def test_decodes_the_fixtures(self):
        _, chosen = signed("inbound-structured.json")
        self.assertEqual(chosen[0][0], "message")
        self.assertEqual(chosen[0][1]["quick_reply"], "billing")
        self.assertEqual(chosen[0][1]["text"], "Billing")
        response, events = signed("inbound-message.json")
        self.assertEqual(
            events,
            [
                (
                    "message",
                    {
                        "id": "ext-msg-000123",
                        "customer_id": "cust-42",
                        "timestamp_ms": 1_788_257_700_000,
                        "text": "Hi, I need help with order 88-431",
                        "attachments": [],
                        "quick_reply": None,
                        "profile": {
                            "display_name": "Dana",
                            "handle": None,
                            "verified": None,
                            "followers": None,
                            "posts": None,
                            "avatar_url": None,
                            "email": None,
                        },
                        "kind": "direct",
                        "reply_to": None,
                        "reaction": None,
                    },
                )
            ],
        )
        answer = json.loads(response[2])
        self.assertEqual((answer["id"], answer["type"], answer["direction"]), ("ext-msg-000123", "Text", "Inbound"))
        self.assertEqual(response[1], [("content-type", "application/json")])

        attachment = signed("inbound-attachment.json")[1][0][1]
        self.assertEqual(attachment["timestamp_ms"], 1_788_257_760_000)
        self.assertEqual(
            attachment["attachments"],
            [
                {
                    "kind": "image",
                    "url": "https://files.example.invalid/label.jpg",
                    "media_id": None,
                    "mime_type": "image/jpeg",
                    "filename": "label.jpg",
                    "caption": None,
                }
            ],
        )
        self.assertEqual(
            signed("receipt-delivered.json")[1],
            [
                (
                    "receipt",
                    {
                        "message_id": "sb-msg-0001",
                        "customer_id": "cust-42",
                        "status": "delivered",
                        "reason": None,
                        "timestamp_ms": 1_788_258_001_000,
                    },
                )
            ],
        )
        self.assertEqual(
            signed("receipt-failed.json")[1][0][1]["reason"],
            "MessageExpired: Recipient's 24h window on the far-end channel is closed",
        )
        self.assertEqual(signed("receipt-sent.json")[1][0][1]["status"], "sent")
        self.assertEqual(
            signed("typing.json")[1], [("typing", {"customer_id": "cust-42", "timestamp_ms": 1_788_257_820_000})]
        )
        self.assertEqual(signed("outbound-echo.json")[1], [])

    def test_names_what_is_missing(self):
        def malformed(text: bytes) -> str:
            with self.assertRaises(AdapterError) as caught:
                inbound.decode(text)
            self.assertEqual(caught.exception.kind, "malformed")
            return caught.exception.message

        self.assertEqual(malformed(b" \n"), "the body is empty; expected JSON")
        self.assertTrue(malformed(b'{"channel":').startswith("the body is not valid JSON"))
        self.assertTrue(malformed(b'{"text":5}').startswith("the JSON body has an unexpected shape"))
        self.assertEqual(malformed(b'{"text":"\\ud800"}'), "the body is not valid JSON: a string has a lone surrogate")
        self.assertEqual(malformed(b'{"channel":{"messageId":"m","from":{"id":"c"}},"text":"hi"}'), "the body lacks `channel.time`")
        self.assertTrue(
            malformed(b'{"channel":{"messageId":"m","from":{"id":"c"},"time":"yesterday"},"text":"hi"}').startswith(
                "`channel.time` must be an ISO-8601 time"
            )
        )
        self.assertEqual(malformed(b'{"channel":{"messageId":"m","time":"2026-09-01T10:15:00Z"},"text":"hi"}'), "the body lacks `channel.from.id`")
        self.assertEqual(malformed(b'{"channel":{"from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"text":"hi"}'), "the body lacks `channel.messageId`")
        self.assertEqual(
            malformed(b'{"type":"Receipt","status":"Delivered","channel":{"to":{"id":"c"},"time":"2026-09-01T10:15:00Z"}}'),
            "the body lacks `id`",
        )
        self.assertIn(
            '"Lost" is not one of',
            malformed(b'{"id":"m","type":"Receipt","status":"Lost","channel":{"to":{"id":"c"},"time":"2026-09-01T10:15:00Z"}}'),
        )
        self.assertEqual(inbound.decode(b'{"channel":{"from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"type":"FutureKind"}'), [])
        self.assertEqual(
            inbound.decode(b'{"channel":{"from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"events":[{"eventType":"Presence"}]}'), []
        )

    def test_times(self):
        self.assertEqual(parse_rfc3339_ms("2026-09-01T10:15:00.000Z"), 1_788_257_700_000)
        self.assertEqual(parse_rfc3339_ms("2026-09-01T12:15:00.5+02:00"), 1_788_257_700_500)
        self.assertIsNone(parse_rfc3339_ms("2026-02-29T00:00:00Z"))
        self.assertIsNone(parse_rfc3339_ms("1969-12-31T23:59:59Z"))
        self.assertIsNone(parse_rfc3339_ms("2026-09-01T10:15:00"))
        self.assertEqual(format_rfc3339_ms(1_788_258_000_123), "2026-09-01T10:20:00.123Z")


CHANNEL = send.Channel(
    webhook_url="https://middleware.example.invalid/genesys/outbound",
    secret=SECRET,
    integration_id="3f1c2d4e-0000-4000-8000-00000000a001",
)
NOW_MS = 1_788_258_000_123


def outbound(**changes) -> send.Message:
    fields = dict(
        id="sb-msg-0001",
        conversation_id="sb-conv-0001",
        customer_id="cust-42",
        text="Hi Dana, I'm Sam from Acme. Let me check 88-431.\n1. Track parcel",
        attachments=[],
        author="agent",
        author_name="Sam",
        in_reply_to="ext-msg-000123",
    )
    fields.update(changes)
    return send.Message(**fields)


class Send(unittest.TestCase):
    def test_encodes_the_fixtures_and_signs(self):
        method, url, headers, body = send.encode(outbound(), CHANNEL, NOW_MS)
        self.assertEqual((method, url), ("POST", CHANNEL.webhook_url))
        self.assertEqual(headers, [("content-type", "application/json"), (SIG, sign_base64(SECRET.encode(), body))])
        self.assertEqual(json.loads(body), json.loads(fixture("outbound-text.json")))
        image = send.Attachment(
            kind="image", url="https://files.example.invalid/return-label.png", mime_type="image/png", filename="return-label.png"
        )
        bot = outbound(text=None, author="bot", author_name=None, in_reply_to=None, attachments=[image])
        self.assertEqual(json.loads(send.encode(bot, CHANNEL, NOW_MS)[3]), json.loads(fixture("outbound-attachment.json")))

    def test_refuses_what_cannot_be_sent(self):
        def refusal(msg, channel=CHANNEL) -> AdapterError:
            with self.assertRaises(AdapterError) as caught:
                send.encode(msg, channel, NOW_MS)
            return caught.exception

        self.assertEqual(
            refusal(outbound(text="")), AdapterError("malformed", "an Open Messaging message needs text or an attachment")
        )
        file = send.Attachment(kind="file")
        self.assertIn("url", refusal(outbound(text="", attachments=[file])).message)
        self.assertEqual(
            refusal(outbound(attachments=[file, file])).message, "Open Messaging carries one attachment per message, not 2"
        )
        bad = send.Channel(webhook_url="middleware.example.invalid", secret=SECRET, integration_id="i")
        self.assertEqual(refusal(outbound(), bad).kind, "misconfigured")

    def test_maps_answers(self):
        def answer(status, headers=(), body=b""):
            return send.decode_response("m", status, list(headers), body, NOW_MS)

        self.assertEqual(answer(204), ("sent", "m"))
        self.assertEqual(
            answer(429, [("Retry-After", "5")], b"slow down"),
            ("rate-limited", (NOW_MS + 5_000, "the webhook answered HTTP 429: slow down")),
        )
        self.assertEqual(answer(401), ("auth", "the webhook answered HTTP 401"))
        self.assertEqual(answer(403, body=b"bad signature")[0], "auth")
        self.assertEqual(answer(502, body=b"<h1>Bad Gateway</h1>"), ("transient", "the webhook answered HTTP 502: <h1>Bad Gateway</h1>"))
        self.assertEqual(answer(400, body=b'{"error":"unknown customer"}')[0], "permanent")
        self.assertEqual(answer(302)[0], "permanent")

    def test_compaction_keeps_strings(self):
        self.assertEqual(webhook.compact_json(b'{ "a" : "x \\" y" ,\n"b": [1, 2] }'), b'{"a":"x \\" y","b":[1,2]}')
        self.assertIsNone(webhook.compact_json(BODY))


if __name__ == "__main__":
    unittest.main()
