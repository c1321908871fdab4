"""``python -m infra.review``: see :mod:`infra.review.cli`."""

from infra.review.cli import main

raise SystemExit(main())
