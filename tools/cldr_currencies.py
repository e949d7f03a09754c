#!/usr/bin/env python3
"""Trims CLDR's currencyData.json to what the shop needs, once, into
crates/pictor-core/src/shop/currency_data.json (committed).

For each region: its current legal tender (an entry with `_from`, no `_to`,
and not `_tender: "false"`; of several, the latest `_from`). For each
currency: its `_digits` (minor units), CLDR's `DEFAULT` being 2.

Source: npm `cldr-core` (Unicode licence), pinned below. Usage:

    python3 tools/cldr_currencies.py [supplemental/currencyData.json]

Without a path it runs `npm pack cldr-core@VERSION` into a temp folder.
"""

import json
import pathlib
import subprocess
import sys
import tarfile
import tempfile

CLDR_VERSION = "48.2.0"
OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/pictor-core/src/shop/currency_data.json"


def load_from_npm():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", f"cldr-core@{CLDR_VERSION}", "--pack-destination", tmp, "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = pathlib.Path(tmp).glob("cldr-core-*.tgz")
        with tarfile.open(tarball) as tar:
            return json.load(tar.extractfile("package/supplemental/currencyData.json"))


def current_tender(entries):
    """The region's legal tender today, or None (e.g. Antarctica)."""
    current = []
    for entry in entries:
        for code, info in entry.items():
            if "_from" in info and "_to" not in info and info.get("_tender") != "false":
                current.append((info["_from"], code))
    return max(current)[1] if current else None


def trim(data):
    currency_data = data["supplemental"]["currencyData"]
    regions = {}
    for region, entries in sorted(currency_data["region"].items()):
        tender = current_tender(entries)
        if tender is not None:
            regions[region] = tender
    fractions = currency_data["fractions"]
    default_digits = int(fractions["DEFAULT"]["_digits"])
    digits = {code: int(f["_digits"]) for code, f in sorted(fractions.items()) if code != "DEFAULT"}
    return {
        "source": f"npm cldr-core {CLDR_VERSION}, supplemental/currencyData.json (Unicode licence)",
        "default_digits": default_digits,
        "digits": digits,
        "regions": regions,
    }


def main():
    if len(sys.argv) > 1:
        data = json.loads(pathlib.Path(sys.argv[1]).read_text())
    else:
        data = load_from_npm()
    OUT.write_text(json.dumps(trim(data), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
