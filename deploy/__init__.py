"""Build and deployment helpers (never packaged: `zappa_settings.json` excludes this folder)."""
