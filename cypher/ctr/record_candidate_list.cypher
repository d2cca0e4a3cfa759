// Add a list name to the dataset's stored candidate lists.
MATCH (d:Dataset {name: $dataset})
SET d.ctr_candidate_lists = [name IN coalesce(d.ctr_candidate_lists, []) WHERE name <> $list] + [$list]
