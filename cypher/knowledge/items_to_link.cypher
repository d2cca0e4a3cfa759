// Items of one dataset that have a title to link.
MATCH (i:Item {dataset: $dataset})
WHERE i.title IS NOT NULL
RETURN i.id AS id, i.title AS title
