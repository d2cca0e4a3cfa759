// rows: [[user, interest], ...] of the interest set $interest_set, as elementIds (handles/users.cypher,
// handles/interests.cypher); each edge weighs 1.0.
// The label is tested through labels(), not in the pattern, so that the planner has no index to
// prefer over the elementId seek: on a fresh server, stale index statistics made it scan an index
// once per row (34,391 item-entity links took 229 s).
UNWIND $rows AS row
MATCH (u) WHERE elementId(u) = row[0] AND 'User' IN labels(u) AND u.dataset = $dataset
MATCH (n) WHERE elementId(n) = row[1] AND 'Interest' IN labels(n) AND n.dataset = $dataset AND n.set = $interest_set
MERGE (u)-[r:HAS_INTEREST]->(n)
SET r.set = $interest_set, r.weight = 1.0
