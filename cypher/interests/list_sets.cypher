// Interest sets of one dataset: clusters, users covered and edges per set.
MATCH (n:Interest {dataset: $dataset})
OPTIONAL MATCH (n)<-[r:HAS_INTEREST]-(u:User)
RETURN n.set AS set, count(DISTINCT n) AS clusters, count(DISTINCT u) AS users, count(r) AS edges
ORDER BY set
