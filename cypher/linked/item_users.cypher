// Template. The keys of the users with a positive interaction ($threshold on the $rating property;
// null: any) with one item ($item: its handle).
MATCH (i:`__item_label__`) WHERE elementId(i) = $item
MATCH (peer:`__user_label__`)-[r:`__interaction_type__`]->(i)
WHERE ($threshold IS NULL OR r[$rating] >= $threshold) AND (NOT $shared_users OR peer.dataset IS NULL)
RETURN collect(DISTINCT peer.`__user_key__`) AS users
