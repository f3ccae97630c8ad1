"""The eligibility self-test: rules from bot/data/eligibility.yml, verdict."""
