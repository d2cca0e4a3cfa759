// The interests of one set of a linked dataset, with the ids of the users holding each.
MATCH (n:Interest {dataset: $dataset, set: $interest_set})
RETURN n.id AS id, coalesce(n.users, []) AS users
ORDER BY id
