// The DESCRIBED_BY links of one dataset's items.
MATCH (i:Item {dataset: $dataset})-[r:DESCRIBED_BY]->(p:WikiPage)
RETURN i.id AS id, i.title AS title, p.title AS page, r.similarity AS similarity, r.method AS method
ORDER BY id
