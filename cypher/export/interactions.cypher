MATCH (u:User {dataset: $dataset})-[r:INTERACTED]->(i:Item)
RETURN u.id AS user, i.id AS item, r.split AS split
