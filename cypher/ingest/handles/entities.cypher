// Every Entity of one dataset: its id and its elementId, as two parallel lists in one record. The
// relationship steps of a load then find their endpoints by elementId (a direct seek) rather than
// by an index look-up per row.
MATCH (n:Entity {dataset: $dataset})
RETURN collect(n.id) AS id, collect(elementId(n)) AS handle
