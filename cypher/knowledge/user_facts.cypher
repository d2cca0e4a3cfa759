// What a user-description prompt may say: demographics and the *train* history (titles and the
// items' descriptions), most recent first when timestamped. Valid and test items never appear.
MATCH (u:User {dataset: $dataset})
OPTIONAL MATCH (u)-[e:INTERACTED {split: 'train'}]->(i:Item)
WITH u, e, i ORDER BY e.ts DESC, i.id
WITH u, collect(CASE WHEN i IS NULL THEN null ELSE [i.id, i.title, i.description] END)[..$max_items] AS history
RETURN u.id AS id, u.age AS age, u.gender AS gender, u.occupation AS occupation, history
ORDER BY id
