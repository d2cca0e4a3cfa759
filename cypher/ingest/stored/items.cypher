// Every Item of one dataset: its id and its org_id (empty when it has none), as two parallel lists in
// one record. A table load reads them to give the org_ids already in the graph the ids they have.
MATCH (n:Item {dataset: $dataset})
RETURN collect(n.id) AS id, collect(coalesce(toString(n.org_id), '')) AS org_id
