// endpoints: whether user $user and item $item exist in $dataset, and the item's title.
OPTIONAL MATCH (u:User {dataset: $dataset, id: $user})
OPTIONAL MATCH (i:Item {dataset: $dataset, id: $item})
RETURN u IS NOT NULL AS user_found, i IS NOT NULL AS item_found, i.title AS title
