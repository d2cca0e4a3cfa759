// User-interest edges of one interest set.
MATCH (j:Interest {dataset: $dataset, set: $interest_set})<-[:HAS_INTEREST]-(u:User)
RETURN u.id AS user, j.id AS interest
