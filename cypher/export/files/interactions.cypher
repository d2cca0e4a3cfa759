// Every user-item interaction with its split, rating and timestamp (null when absent).
MATCH (u:User {dataset: $dataset})-[r:INTERACTED]->(i:Item)
RETURN u.id AS user, i.id AS item, r.split AS split, r.rating AS rating, r.ts AS ts
