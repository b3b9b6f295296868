"""The Open Messaging channel adapter in Python (see plugins/open-messaging for the Rust one)."""
