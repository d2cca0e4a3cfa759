// What a profile-cut user-description prompt may say (KELLMRec's CTR protocol): demographics and
// the user's CTR *profile history* only, i.e. its first ctr_profile_cut interactions in (ts, item id)
// order, every one of them before all of the user's CTR targets. Most recent first; liked (rating >
// $threshold, as for CTR labels) and not liked apart. Users outside the CTR split have no profile.
MATCH (u:User {dataset: $dataset})
WHERE u.ctr_profile_cut IS NOT NULL
MATCH (u)-[r:INTERACTED]->(i:Item)
WITH u, r, i ORDER BY r.ts, i.id
WITH u, collect([i.id, i.title, i.description, r.rating]) AS ordered
WITH u, reverse(ordered[..u.ctr_profile_cut]) AS profile
RETURN u.id AS id, u.age AS age, u.gender AS gender, u.occupation AS occupation,
       [entry IN profile WHERE entry[3] > $threshold | entry[..3]][..$max_items] AS history,
       [entry IN profile WHERE entry[3] IS NULL OR entry[3] <= $threshold | entry[..3]][..$max_items] AS disliked
ORDER BY id
