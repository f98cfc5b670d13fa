"""Tests of the sandbox server and its two emulated APIs, and of the taps' HTTP client
against it (tests/unit/ holds the tests that need no HTTP)."""
