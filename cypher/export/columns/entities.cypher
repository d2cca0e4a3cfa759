// Every entity id of one dataset as one list: one record, so the driver decodes a list, not rows.
MATCH (n:Entity {dataset: $dataset})
RETURN collect(n.id) AS id
