// Delete one named candidate list of one dataset (before a re-draw) and forget its name.
MATCH (d:Dataset {name: $dataset})
SET d.ctr_candidate_lists = [name IN coalesce(d.ctr_candidate_lists, []) WHERE name <> $list]
WITH d
MATCH (:User {dataset: $dataset})-[c:CANDIDATE]->(:Item)
WHERE c.list = $list
DELETE c
