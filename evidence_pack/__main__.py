"""`python -m evidence_pack`: the same as the `evidence-pack` command."""

from evidence_pack.cli import main

raise SystemExit(main())
