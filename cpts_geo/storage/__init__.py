"""Storage layer: the store of territories (SQLite or PostgreSQL) and its users."""
