// One named candidate list per user, in stored order, as [item, label, score].
MATCH (u:User {dataset: $dataset})-[c:CANDIDATE]->(i:Item)
WHERE c.list = $list
WITH u, c, i
ORDER BY u.id, c.position
RETURN u.id AS user, collect([i.id, c.label, c.score]) AS candidates
ORDER BY user
