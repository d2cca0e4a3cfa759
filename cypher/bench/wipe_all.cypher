// Benchmarks only: empty the whole database of a private bench server.
MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
