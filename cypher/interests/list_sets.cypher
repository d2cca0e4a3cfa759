// Interest sets of one dataset: clusters, users covered and memberships per set. A member is a
// HAS_INTEREST edge, or (a linked dataset's set) a user id in the Interest node's `users` list.
MATCH (n:Interest {dataset: $dataset})
OPTIONAL MATCH (n)<-[:HAS_INTEREST]-(u:User)
WITH n, collect(u.id) + coalesce(n.users, []) AS holders
UNWIND CASE WHEN holders = [] THEN [null] ELSE holders END AS holder
RETURN n.set AS set, count(DISTINCT n) AS clusters, count(DISTINCT holder) AS users, count(holder) AS edges
ORDER BY set
