// user_history: the items a user interacted with, most recent first, with the split of each.
// Parameters: $dataset: string, $user: int, $split: string? = null, $limit: int = 50
// Returns: item, title, split, rating, timestamp
// $split = null lists every split. On a linked dataset $user is the user's key, the rows are its
// interactions in its graph, and split is null for one kgrec holds no split of (below the threshold,
// or not synced yet).
// :param dataset => 'dbbook2014'
// :param user => 0
// :param split => null
// :param limit => 50
MATCH (:User {dataset: $dataset, id: $user})-[r:INTERACTED]->(i:Item)
WHERE $split IS NULL OR r.split = $split
RETURN i.id AS item, i.title AS title, r.split AS split, r.rating AS rating, r.ts AS timestamp
ORDER BY r.ts IS NULL, r.ts DESC, item
LIMIT $limit
