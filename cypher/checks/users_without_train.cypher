// users_without_train: users with no INTERACTED edge of split 'train'.
// severity: warning
// description: users with no train interactions (cold start: nothing to learn them from)
// Why a warning: these users can still be scored (e.g. from interests) but get no trained embedding.
// Parameters: $dataset: string, $examples: int = 5
// Returns: count, examples (up to $examples maps {user, interactions: edges of any split})
// :param dataset => 'dbbook2014'
// :param examples => 5
MATCH (u:User {dataset: $dataset})
WHERE NOT EXISTS { (u)-[:INTERACTED {split: 'train'}]->(:Item) }
WITH u ORDER BY u.id
WITH collect({user: u.id, interactions: COUNT { (u)-[:INTERACTED]->(:Item) }}) AS rows
RETURN size(rows) AS count, rows[..$examples] AS examples
