"""Helpers of the publish room's tests and bench: a Delft twin built like `make demo` builds it, a loopback
web server for a published folder, and headless Chromium (Debian's) that may reach nothing but loopback."""
