"""Child process of the crash-consistency test: apply a provisioning file to a file-backed store and
stop dead inside the transaction after a chosen number of writes.

Usage: python crash_child.py STORE FILE.xml MODEL WRITES

After WRITES writes it prints ``paused`` and sleeps, so the parent can SIGKILL it at exactly that
point; when the apply finishes first it prints ``done``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from firmware.nvm import NvmStore
from firmware.provisioning import apply, parse_provisioning
from models.profiles import get_profile


def main() -> None:
    store_path, xml_path, model, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    writes = 0

    def hook(_sql: str) -> None:
        nonlocal writes
        writes += 1
        if writes == limit:
            print("paused", flush=True)
            time.sleep(120)

    doc = parse_provisioning(Path(xml_path).read_bytes(), source=xml_path)
    with NvmStore(store_path, write_hook=hook) as store:
        apply(doc, store, get_profile(model))
    print("done", flush=True)


if __name__ == "__main__":
    main()
