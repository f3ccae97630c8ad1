"""Tests that need no server, model, browser or network service (PostgreSQL and Redis cases are marked `postgres` / `redis`): `make check` runs them."""
