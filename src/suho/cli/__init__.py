"""The `suho` console script: one file per subcommand."""
