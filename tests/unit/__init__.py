"""Unit tests of the concurrency core: in-process fakes only, no HTTP, no SDK run."""
