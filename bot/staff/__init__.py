"""Staff tools (not used while the assistant answers): FAQ sheet, report, NLU gate, templates."""
