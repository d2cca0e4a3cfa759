// Which properties users, items and interactions of one dataset carry at all, so that a
// format can write its header before it streams the rows.
CALL () {
  MATCH (n:User {dataset: $dataset}) UNWIND keys(n) AS key RETURN 'users' AS kind, key
  UNION
  MATCH (n:Item {dataset: $dataset}) UNWIND keys(n) AS key RETURN 'items' AS kind, key
  UNION
  MATCH (:User {dataset: $dataset})-[r:INTERACTED]->() UNWIND keys(r) AS key RETURN 'interactions' AS kind, key
}
RETURN kind, collect(key) AS keys
