// Every user of one dataset with its interaction count and how many of them carry a timestamp.
MATCH (u:User {dataset: $dataset})
OPTIONAL MATCH (u)-[r:INTERACTED]->(:Item)
RETURN u.id AS user, count(r) AS interactions, count(r.ts) AS timed
ORDER BY user
