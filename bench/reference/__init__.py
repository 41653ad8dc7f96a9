"""The reference: the leanest honest FastAPI + asyncpg app doing the benchmark's jobs on the
same schema and database, so that every figure reads as a share of what this stack can do."""
