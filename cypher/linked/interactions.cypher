// Template. The interactions of one chunk of users ($handles: their elementIds), one
// [user key, item key, rating, timestamp] list each; $rating and $timestamp are the relationship's
// property names (null when the mapping has none, which reads as null). $since (null: every one)
// keeps those stamped at or after it.
UNWIND $handles AS handle
MATCH (u:`__user_label__`) WHERE elementId(u) = handle
MATCH (u)-[r:`__interaction_type__`]->(i:`__item_label__`)
WHERE i.`__item_key__` IS NOT NULL AND (NOT $shared_items OR i.dataset IS NULL)
  AND ($since IS NULL OR r[$timestamp] >= $since)
RETURN collect([u.`__user_key__`, i.`__item_key__`, r[$rating], r[$timestamp]]) AS rows
