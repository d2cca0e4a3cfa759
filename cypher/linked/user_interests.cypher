// The interests of one set ($set null: every set) of a linked dataset whose member lists hold kgrec's
// user id $user, with their members and weights.
MATCH (n:Interest {dataset: $dataset})
WHERE ($set IS NULL OR n.set = $set) AND $user IN n.users
RETURN n.set AS set, n.id AS id, n.label AS label, n.phrases AS phrases, n.users AS users, n.weights AS weights
ORDER BY set, id
