// Every item of the dataset as explanations read it from memory: its title and the entities it is
// LINKED_TO (distinct).
MATCH (i:Item {dataset: $dataset})
RETURN i.id AS item, i.title AS title,
       COLLECT { MATCH (i)-[:LINKED_TO]->(e:Entity) WITH DISTINCT e RETURN e.id } AS entities
