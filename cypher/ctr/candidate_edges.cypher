// How many users and CANDIDATE edges one named list has in this dataset (0 = not stored yet).
MATCH (u:User {dataset: $dataset})-[c:CANDIDATE]->(:Item)
WHERE c.list = $list
RETURN count(DISTINCT u) AS users, count(c) AS edges
