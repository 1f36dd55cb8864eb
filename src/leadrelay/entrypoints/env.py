"""Names of the environment variables the entry points read. A module of constants only, so that the
command line can declare its options without loading the engine."""

DB_ENV = "LEADRELAY_DB"
