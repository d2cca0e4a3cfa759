// Every interaction of one dataset: user id, item id and split, as three parallel lists in one
// record. A table load reads them so that an interaction already in the graph keeps its split.
MATCH (u:User {dataset: $dataset})-[r:INTERACTED]->(i:Item)
RETURN collect(u.id) AS user, collect(i.id) AS item, collect(coalesce(r.split, 'train')) AS split
