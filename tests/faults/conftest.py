"""Fault injection: each test injects a real fault into real processes and asserts the
exact rows on disk and on the server (nothing lost, nothing doubled) and the message the
user sees."""
