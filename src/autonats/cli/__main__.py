from autonats.cli import main

raise SystemExit(main())
