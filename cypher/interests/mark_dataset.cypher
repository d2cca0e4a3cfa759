// An interest set changed: bump the version (export caches key on it) and record that interests exist.
MATCH (d:Dataset {name: $dataset})
SET d.version = coalesce(d.version, 0) + 1,
    d.has_interests = EXISTS { MATCH (:Interest {dataset: $dataset}) }
RETURN d.version AS version
