// Every train (user, item) pair of one dataset; the validation split is drawn from these.
MATCH (u:User {dataset: $dataset})-[r:INTERACTED]->(i:Item)
WHERE r.split = 'train'
RETURN u.id AS user, i.id AS item
