// The index's $fetch nearest nodes over all datasets, rescored exactly from the stored vectors (the
// index may quantize), then those of $dataset, best first. The caller asks for more when fewer than
// k remain and the index had more to give (fetched = $fetch).
CALL db.index.vector.queryNodes($index, $fetch, $vector) YIELD node
WITH node, vector.similarity.cosine(node[$vector_property], $vector) AS score
ORDER BY score DESC
WITH collect({id: node.id, dataset: node.dataset, title: node.title, score: score}) AS hits
RETURN size(hits) AS fetched,
       [h IN hits WHERE h.dataset = $dataset | {id: h.id, title: h.title, score: h.score}] AS hits
