// Every Interest of one set of one dataset: its id and its elementId, as two parallel lists in one
// record (see handles/users.cypher for why).
MATCH (n:Interest {dataset: $dataset, set: $interest_set})
RETURN collect(n.id) AS id, collect(elementId(n)) AS handle
