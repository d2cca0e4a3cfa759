// The split was drawn: remember how, and bump the version so cached exports are rebuilt.
MATCH (d:Dataset {name: $dataset})
SET d.version = coalesce(d.version, 0) + 1, d.valid_ratio = $ratio, d.valid_seed = $seed
RETURN d.version AS version
