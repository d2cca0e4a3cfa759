// Interests inferred for a cold-start user from the graph (no LLM): the interests of the run's set most
// held by users who interacted with the given items. Each (given item, user who interacted with it,
// interest that user holds) adds that HAS_INTEREST weight, so a user sharing more of the items counts
// more. Only interests holding a vector of this run; ties broken by id. Serving computes the same ranking
// from memory (serving.neighbours, from item_interest_weights); this query states the rule for one request.
UNWIND $items AS item
MATCH (:Item {dataset: $dataset, id: item})<-[:INTERACTED]-(u:User)-[h:HAS_INTEREST {set: $interest_set}]->(j:Interest)
WHERE j.dataset = $dataset AND j.set = $interest_set AND j[$run_property] = $run_id
WITH j, sum(coalesce(h.weight, 1.0)) AS score, count(DISTINCT u) AS users
RETURN j.id AS id, j.label AS label, score, users
ORDER BY score DESC, id
LIMIT $limit
