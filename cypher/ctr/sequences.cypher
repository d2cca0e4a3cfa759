// Each split user's interactions in time order (ts, then item id) as [item, ts, label], label 1 when
// rating > $threshold; with the user's split and profile cut (the first `cut` entries are its profile).
MATCH (u:User {dataset: $dataset})-[r:INTERACTED]->(i:Item)
WHERE u.ctr_split IS NOT NULL
WITH u, r, i
ORDER BY u.id, r.ts, i.id
WITH u, collect([i.id, r.ts, CASE WHEN r.rating > $threshold THEN 1 ELSE 0 END]) AS sequence
RETURN u.id AS user, u.ctr_split AS split, u.ctr_profile_cut AS cut, sequence
ORDER BY user
