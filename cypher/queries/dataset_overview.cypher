// dataset_overview: nodes per label and relationships per type of one dataset.
// Parameters: $dataset: string
// Returns: kind, name, count
// kind: 'node' (name = label) or 'relationship' (name = type, counted at its start node).
// :param dataset => 'dbbook2014'
CALL () {
  MATCH (n:User {dataset: $dataset}) RETURN 'node' AS kind, 'User' AS name, count(n) AS count
  UNION ALL
  MATCH (n:Item {dataset: $dataset}) RETURN 'node' AS kind, 'Item' AS name, count(n) AS count
  UNION ALL
  MATCH (n:Entity {dataset: $dataset}) RETURN 'node' AS kind, 'Entity' AS name, count(n) AS count
  UNION ALL
  MATCH (n:Interest {dataset: $dataset}) RETURN 'node' AS kind, 'Interest' AS name, count(n) AS count
  UNION ALL
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
  RETURN 'relationship' AS kind, type(r) AS name, count(r) AS count
}
RETURN kind, name, count
ORDER BY kind, name
LIMIT 1000
