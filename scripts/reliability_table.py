"""Run the tests behind the README's reliability table and print the table they produce.

    python scripts/reliability_table.py                 # run, print the table
    python scripts/reliability_table.py --write-readme  # ... and put it into README.md

The rows and the tests behind each live in tests/reliability.py; the pytest plugin there counts
the cases and their results. Nothing in the table is typed in.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import reliability  # noqa: E402


def main() -> int:
    """Run the row files' tests, print the table, optionally write it into the README."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--write-readme", action="store_true", help="update README.md")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the test run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table_path = Path(tmp, "table.md")
        env = {**os.environ, "RELIABILITY_TABLE": str(table_path)}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *reliability.FILES]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=args.timeout, check=False)
        if not table_path.exists():
            print("the run did not complete every row; no table", file=sys.stderr)
            return 1
        table = table_path.read_text(encoding="utf-8")
    print(table, end="")
    if args.write_readme:
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8")
        readme.write_text(reliability.replace_in_readme(text, table), encoding="utf-8")
        print(f"README.md updated (pytest exit {proc.returncode})")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
