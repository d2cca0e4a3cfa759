// The neighbours cold start infers interests from, per (item, interest) pair at once: the HAS_INTEREST weights
// of the run's set summed over the users who interacted with the item (each INTERACTED-HAS_INTEREST path counts
// once, as in infer_interests), only interests holding a vector of this run. Summing these rows over the given
// items gives infer_interests' score without a query per request.
MATCH (j:Interest {dataset: $dataset, set: $interest_set})
WHERE j[$run_property] = $run_id
MATCH (j)<-[h:HAS_INTEREST {set: $interest_set}]-(:User)-[:INTERACTED]->(i:Item {dataset: $dataset})
RETURN i.id AS item, j.id AS interest, sum(coalesce(h.weight, 1.0)) AS weight
