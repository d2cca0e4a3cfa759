// What kgrec keeps for a linked dataset's items: each KgrecItemText node's description and the text of
// the Wikipedia page it is linked to (`kgrec link`), for grounding prompts.
MATCH (t:KgrecItemText {dataset: $dataset})
OPTIONAL MATCH (t)-[:DESCRIBED_BY]->(p:WikiPage)
RETURN t.id AS id, t.description AS description, p.text AS page, p.title AS page_title
