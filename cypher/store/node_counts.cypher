// Nodes per label of one dataset (each count is an index lookup on :Label(dataset)).
CALL () {
  MATCH (n:User {dataset: $dataset}) RETURN 'User' AS label, count(n) AS count
  UNION ALL
  MATCH (n:Item {dataset: $dataset}) RETURN 'Item' AS label, count(n) AS count
  UNION ALL
  MATCH (n:Entity {dataset: $dataset}) RETURN 'Entity' AS label, count(n) AS count
  UNION ALL
  MATCH (n:Interest {dataset: $dataset}) RETURN 'Interest' AS label, count(n) AS count
}
RETURN label, count
