// Every entity of the dataset as explanations read it from memory: name, URI, its KG edges that start at
// it ([type, other entity id], one per relationship), and as the shared entity of a KG path its degree and
// score, computed by the expressions of explain/kg_paths.
MATCH (e:Entity {dataset: $dataset})
WITH e, COUNT { (e)--(:Entity) } AS degree
RETURN e.id AS entity, e.name AS name, e.uri AS uri, degree, 1.0 / log(2.0 + degree) AS score,
       COLLECT { MATCH (e)-[r]->(o:Entity) RETURN [type(r), o.id] } AS edges
