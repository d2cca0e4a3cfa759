// Relationships per type that start at a node of one dataset.
CALL () {
  MATCH (n:User {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:Item {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:Entity {dataset: $dataset}) RETURN n
  UNION ALL
  MATCH (n:Interest {dataset: $dataset}) RETURN n
}
MATCH (n)-[r]->()
RETURN type(r) AS type, count(r) AS count
ORDER BY type
