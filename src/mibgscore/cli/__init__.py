"""The `mibgscore` command: each subcommand a thin layer over a public function."""
