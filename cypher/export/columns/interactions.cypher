// Interactions of the users with ids in [$lo, $hi], as parallel lists (one record per chunk).
// split: $split_codes[r.split], -1 for an unknown split (collect() would drop a null and
// misalign the lists).
MATCH (u:User {dataset: $dataset})
WHERE u.id >= $lo AND u.id <= $hi
MATCH (u)-[r:INTERACTED]->(i:Item)
RETURN collect(u.id) AS user, collect(i.id) AS item, collect(coalesce($split_codes[r.split], -1)) AS split
