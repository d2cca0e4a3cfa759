// What a description prompt may say about each item: title, the linked Wikipedia page, own facts
// (genres, year, IMDb plot and people) and a few KG neighbours as "RELATION: name".
MATCH (i:Item {dataset: $dataset})
OPTIONAL MATCH (i)-[:DESCRIBED_BY]->(p:WikiPage)
OPTIONAL MATCH (i)-[:LINKED_TO]->(:Entity)-[r]->(n:Entity)
WITH i, p, collect(DISTINCT type(r) + ': ' + coalesce(n.name, n.org_id, toString(n.id)))[..$max_neighbours] AS neighbours
RETURN i.id AS id, i.title AS title, i.genres AS genres, i.year AS year, i.plot AS plot,
       i.directors AS directors, i.cast AS cast, p.text AS page, p.title AS page_title, neighbours
ORDER BY id
