// What kgrec holds of one linked dataset: ids per kind (id maps), synced interactions per split code
// (0 train, 1 valid, 2 test), interests and their members, and the triples counted at the last sync.
MATCH (d:Dataset {name: $dataset})
RETURN COLLECT {
         MATCH (m:KgrecIdMap {dataset: $dataset})
         RETURN {kind: m.kind, count: size(m.keys)}
       } AS ids,
       COLLECT {
         MATCH (s:KgrecSplits {dataset: $dataset})
         UNWIND s.splits AS code
         WITH code, count(*) AS count
         RETURN {code: code, count: count}
       } AS splits,
       COUNT { MATCH (n:Interest {dataset: $dataset}) } AS interests,
       coalesce(COLLECT { MATCH (n:Interest {dataset: $dataset}) RETURN sum(size(coalesce(n.users, []))) }[0], 0)
         AS interest_members,
       coalesce(d.kg_triples, 0) AS kg_triples, size(coalesce(d.relation_types, [])) AS kg_relations
