// Every user of the dataset as explanations read it from memory (serving.explain_memory): its distinct
// items (INTERACTED, any split), and as a peer on a collaborative path its degree and score, computed by
// the expression of explain/collaborative_paths so that the numbers are Neo4j's own.
MATCH (u:User {dataset: $dataset})
WITH u, COUNT { MATCH (u)-[:INTERACTED]->(x:Item) RETURN DISTINCT x } AS degree
RETURN u.id AS user, COLLECT { MATCH (u)-[:INTERACTED]->(i:Item) WITH DISTINCT i RETURN i.id } AS items,
       degree, 1.0 / log(2.0 + degree) AS score
