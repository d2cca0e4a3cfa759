// Every user of one dataset with the side features CTR models use.
MATCH (u:User {dataset: $dataset})
RETURN u.id AS id, u.gender AS gender, u.age AS age, u.occupation AS occupation
ORDER BY id
