// Each user's train items (never valid or test), most recent first when timestamps exist,
// else by item id; at most $max_items per user. These are what interest prompts may show.
MATCH (u:User {dataset: $dataset})-[r:INTERACTED]->(i:Item)
WHERE r.split = 'train'
WITH u, r, i
ORDER BY u.id, r.ts IS NULL, r.ts DESC, i.id
WITH u, collect([i.id, i.title])[..$max_items] AS history
RETURN u.id AS user, history
ORDER BY user
