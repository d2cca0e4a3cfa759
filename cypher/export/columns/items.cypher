// Every item id of one dataset as one list: one record, so the driver decodes a list, not rows.
MATCH (n:Item {dataset: $dataset})
RETURN collect(n.id) AS id
