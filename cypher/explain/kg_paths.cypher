// kg_paths: user -INTERACTED-> seen -LINKED_TO-> entity -[r1]- via -[r2]- entity <-LINKED_TO- item.
// Parameters: $dataset, $user, $item, $limit (most paths returned).
// score = 1 / log(2 + degree of via), degree = distinct KG edges of the shared entity.
MATCH (target:Item {dataset: $dataset, id: $item})-[:LINKED_TO]->(et:Entity)-[r2]-(via:Entity)-[r1]-(es:Entity)
      <-[:LINKED_TO]-(seen:Item)<-[:INTERACTED]-(u:User {dataset: $dataset, id: $user})
WHERE seen <> target
WITH DISTINCT seen, es, r1, via, r2, et
WITH seen, es, r1, via, r2, et, COUNT { (via)--(:Entity) } AS degree
RETURN seen.id AS seen, seen.title AS seen_title,
       type(r1) AS rel1, startNode(r1) = es AS rel1_out,
       via.id AS via, via.name AS via_name, via.uri AS via_uri, degree,
       type(r2) AS rel2, startNode(r2) = via AS rel2_out,
       1.0 / log(2.0 + degree) AS score
ORDER BY score DESC, seen, via, rel1, rel2
LIMIT $limit
