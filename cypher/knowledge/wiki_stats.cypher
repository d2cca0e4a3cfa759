// One row per dump source, with its pages in the graph and the items linked to them.
MATCH (s:WikiSource)
CALL (s) {
  MATCH (p:WikiPage {source: s.name})
  RETURN count(p) AS pages_in_graph
}
CALL (s) {
  MATCH (:Item)-[r:DESCRIBED_BY]->(:WikiPage {source: s.name})
  RETURN count(r) AS links
}
RETURN s.name AS source, s.status AS status, s.pages AS pages, s.file AS file, s.max_chars AS max_chars,
       pages_in_graph, links
ORDER BY source
