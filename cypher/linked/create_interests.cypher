// rows: [{id, label, size, phrases, users, weights}]: one interest set of a linked dataset, created
// fresh. Its members are list properties (user ids and weights): kgrec draws no edge to the graph's
// own user nodes.
UNWIND $rows AS row
CREATE (:Interest {dataset: $dataset, set: $interest_set, id: row.id, label: row.label, size: row.size,
                   phrases: row.phrases, users: row.users, weights: row.weights})
