MATCH (:User {dataset: $dataset})-[r:INTERACTED]->()
RETURN r.split AS split, count(r) AS count
ORDER BY split
