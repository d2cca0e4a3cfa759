// Template. Up to $limit values of the interactions' timestamp property, to learn their kind
// (number, text, datetime, date) before --since is compared with them.
MATCH ()-[r:`__type__`]->()
WHERE r.`__property__` IS NOT NULL
WITH r.`__property__` AS value
LIMIT $limit
RETURN collect(value) AS values
