// interest_items: the items most read by the members of one interest.
// Parameters: $dataset: string, $set: string, $interest: int, $split: string? = null, $limit: int = 20
// Returns: item, title, readers
// readers: members of the interest who interacted with the item ($split = null: any split).
// :param dataset => 'dbbook2014'
// :param set => 'authors'
// :param interest => 0
// :param split => null
// :param limit => 20
MATCH (:Interest {dataset: $dataset, set: $set, id: $interest})<-[:HAS_INTEREST]-(u:User)-[r:INTERACTED]->(i:Item)
WHERE $split IS NULL OR r.split = $split
RETURN i.id AS item, i.title AS title, count(DISTINCT u) AS readers
ORDER BY readers DESC, item
LIMIT $limit
