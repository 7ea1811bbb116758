"""``python -m desktop_client`` is the same as the ``xnat-upload`` command."""

from desktop_client.cli.main import main

raise SystemExit(main())
