"""Test support code shared by the test suites (real servers, not mocks)."""
