// single_member_interests: interests held by exactly one user, per interest set.
// severity: info
// description: interests with one member (they connect no users to each other)
// Members are counted from HAS_INTEREST edges, not the stored size property. One row per set
// that has interests; sets with no single-member interest come back with count 0.
// Parameters: $dataset: string, $examples: int = 5
// Returns: set, count, examples (up to $examples maps {interest, label, user}, lowest id first)
// :param dataset => 'dbbook2014'
// :param examples => 5
MATCH (n:Interest {dataset: $dataset})
WITH n, [(n)<-[:HAS_INTEREST]-(u:User) | u.id] AS members
WITH n, members ORDER BY n.set, n.id
WITH n.set AS set,
     collect(CASE WHEN size(members) = 1 THEN {interest: n.id, label: n.label, user: members[0]} END) AS rows
RETURN set, size(rows) AS count, rows[..$examples] AS examples
ORDER BY set
