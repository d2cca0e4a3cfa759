// Users of one dataset with the properties a file format may carry (absent ones are null).
MATCH (n:User {dataset: $dataset})
RETURN n.id AS id, n {.org_id, .age, .gender, .occupation, .zip} AS props
ORDER BY id
