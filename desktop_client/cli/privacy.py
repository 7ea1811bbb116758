"""``xnat-upload clear-cache``: remove what the app keeps about scanned files (issue 14).

The scan index holds no patient names, IDs or paths (keyed hashes only), and its entries expire
after the Settings screen's "Keep the scan index" days (default 30); this command removes it
now, together with the rest of the disposable cache, or with ``--older-than DAYS`` only the
scan-index entries and thumbnails older than that (no settings file needed: for headless use). The transfer queue, receipts and templates
are not touched (see ``transfers`` to remove transfers).
"""

from __future__ import annotations

import argparse

from desktop_client.cli.common import UserError, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("clear-cache", help="remove the scan index and other cached data",
                       description="Remove the scan index and every other disposable cached file "
                                   "(the same as Settings → Clear cached data).")
    p.add_argument("--older-than", type=int, metavar="DAYS",
                   help="remove only scan-index entries and thumbnails not seen or used for DAYS days "
                        "(at least 1; overrides the Settings screen's 'Keep the scan index' for this run)")
    p.add_argument("--json", action="store_true", help="print what was removed as JSON")
    p.set_defaults(func=run_clear_cache)


def apply_user_settings() -> None:
    """The desktop app's privacy settings (settings.json, Qt-free) apply to the CLI too, and
    every process pool of the command keeps its sockets in the private runtime folder."""
    from desktop_client.core.processes import use_private_runtime_dir
    from desktop_client.gui.settings_store import apply_privacy_settings, load_settings

    apply_privacy_settings(load_settings())
    use_private_runtime_dir()


def run_clear_cache(args: argparse.Namespace) -> int:
    from desktop_client.scanning.cache import clear_cached_data

    if args.older_than is not None:
        return _expire(args.older_than, args.json)
    removed = clear_cached_data()
    if args.json:
        print_json({"removed": [p.name for p in removed]})
    else:
        print(f"Cleared cached data ({len(removed)} item(s) removed)." if removed
              else "There was no cached data.")
    return 0


def _expire(days: int, as_json: bool) -> int:
    """Expire what is older than ``days`` now, without the GUI's settings.json."""
    from desktop_client.pixels.preview import expire_thumbnails
    from desktop_client.scanning.cache import ScanCache, default_path

    if days < 1:
        raise UserError(f"--older-than must be at least 1 day (got {days}); "
                        "use clear-cache without it to remove everything")
    entries = 0
    if default_path().exists():
        index = ScanCache(max_age_days=days)
        entries = index.expired
        index.close()
    thumbnails = expire_thumbnails(max_age_days=days)
    if as_json:
        print_json({"older_than_days": days, "scan_index_entries": entries, "thumbnails": thumbnails})
    else:
        print(f"Removed {entries} scan-index entr{'y' if entries == 1 else 'ies'} and {thumbnails} "
              f"thumbnail(s) not used for {days} day(s).")
    return 0
