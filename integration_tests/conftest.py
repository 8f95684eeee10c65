"""Shared pytest fixtures for CometMQ integration tests (real processes)."""
