// user_recommendations: one user's interests and stored recommendations as a graph, for Neo4j Browser.
// Parameters: $dataset: string, $user: int, $k: int = 10
// Returns: p, paths of three kinds:
//   user -HAS_INTEREST-> interest;
//   user -RECOMMENDED-> item (every model's top $k);
//   for each recommended item, one interest path that explains it:
//   user -HAS_INTEREST-> interest <-HAS_INTEREST- peer -INTERACTED-> item.
// :param dataset => 'dbbook2014'
// :param user => 0
// :param k => 10
MATCH (u:User {dataset: $dataset, id: $user})
CALL (u) {
  MATCH p = (u)-[:HAS_INTEREST]->(:Interest)
  RETURN p
  UNION
  MATCH p = (u)-[r:RECOMMENDED]->(:Item)
  WHERE r.rank <= $k
  RETURN p
  UNION
  MATCH (u)-[r:RECOMMENDED]->(i:Item)
  WHERE r.rank <= $k
  CALL (u, i) {
    MATCH p = (u)-[:HAS_INTEREST]->(:Interest)<-[:HAS_INTEREST]-(peer:User)-[:INTERACTED]->(i)
    WHERE peer <> u
    RETURN p
    LIMIT 1
  }
  RETURN p
}
RETURN p
LIMIT 200
