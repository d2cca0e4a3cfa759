// Users per stored CTR split.
MATCH (u:User {dataset: $dataset})
WHERE u.ctr_split IS NOT NULL
RETURN u.ctr_split AS split, count(u) AS users
