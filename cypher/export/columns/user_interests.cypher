// User-interest edges of the interests (of one set) with ids in [$lo, $hi], as parallel lists.
MATCH (j:Interest {dataset: $dataset, set: $interest_set})
WHERE j.id >= $lo AND j.id <= $hi
MATCH (j)<-[:HAS_INTEREST]-(u:User)
RETURN collect(u.id) AS user, collect(j.id) AS interest
