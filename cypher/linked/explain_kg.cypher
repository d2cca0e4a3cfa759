// Template. Item-graph paths on a linked graph through nodes of one label: an item the user interacted
// with ($seen: their keys) -[type_a]- a node of via_label -[type_b]- the target item ($item: its
// handle), either direction. score = 1 / log(2 + degree), degree = the via node's relationships to items.
MATCH (target:`__item_label__`) WHERE elementId(target) = $item
UNWIND $seen AS key
MATCH (seen:`__item_label__`)
WHERE seen.`__item_key__` = key AND seen <> target AND (NOT $shared_items OR seen.dataset IS NULL)
MATCH (seen)-[r1:`__type_a__`]-(via:`__via_label__`)-[r2:`__type_b__`]-(target)
WHERE via.`__via_key__` IS NOT NULL AND (NOT $shared_via OR via.dataset IS NULL)
WITH DISTINCT seen, r1, via, r2
WITH seen, r1, via, r2, COUNT { (via)--(:`__item_label__`) } AS degree
RETURN seen.`__item_key__` AS seen, seen[$title] AS seen_title,
       type(r1) AS rel1, startNode(r1) = seen AS rel1_out,
       via.`__via_key__` AS via, degree, type(r2) AS rel2, startNode(r2) = via AS rel2_out,
       1.0 / log(2.0 + degree) AS score
ORDER BY score DESC, seen, via, rel1, rel2
LIMIT $limit
