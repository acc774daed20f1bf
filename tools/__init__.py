"""Developer tools that are not shipped: the scripted runtime (the tests and
bench/tui_latency.py run the app on it), a Pilot driver for the app, and the README's
screenshot. Nothing under engine/, seal_tui/ or seal_bench/ imports them."""
