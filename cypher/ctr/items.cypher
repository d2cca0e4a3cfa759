// Every item of one dataset with the side features CTR models use.
MATCH (i:Item {dataset: $dataset})
RETURN i.id AS id, i.genres AS genres, i.year AS year
ORDER BY id
