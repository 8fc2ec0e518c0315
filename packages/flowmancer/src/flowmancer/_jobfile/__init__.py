"""Reading job files: YAML with variables and includes, checked against the job schema."""
