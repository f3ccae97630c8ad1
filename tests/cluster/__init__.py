"""The nginx + PostgreSQL + Redis cluster (`make cluster`) and its edge (rate limit, API port, CORS)."""
