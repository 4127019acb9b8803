"""The PostgreSQL store (``STORE_URL=postgresql://…``, issue #15): a connection pool, versioned
SQL migrations applied at start, and the store itself behind the same ports as TinyDB's."""
