// A user's interactions in time order (ts, then item id); the first max(1, floor($share * n)) are its
// profile. Stores the count (ctr_profile_cut) and the ts of the last profile interaction (ctr_profile_ts).
MATCH (u:User {dataset: $dataset})-[r:INTERACTED]->(i:Item)
WHERE u.ctr_split IS NOT NULL
WITH u, r, i
ORDER BY r.ts, i.id
WITH u, collect(r.ts) AS times
WITH u, times, toInteger(floor($share * size(times))) AS share_cut
WITH u, times, CASE WHEN share_cut < 1 THEN 1 ELSE share_cut END AS cut
SET u.ctr_profile_cut = cut, u.ctr_profile_ts = times[cut - 1]
RETURN count(u) AS users
